"""accounts.services and accounts.selectors: profiles, library cards, finding readers."""

import pytest


def test_a_library_card_number_belongs_to_one_reader(db):
    from django.core.exceptions import ValidationError

    from accounts.selectors import find_readers
    from accounts.services import user_upsert

    first, _ = user_upsert(username="reader1", card_number=" r0042 ", validate=False)
    assert first.profile.card_number == "R0042" and find_readers("r0042") == [first]
    with pytest.raises(ValidationError) as refused:
        user_upsert(username="reader2", card_number="R0042", validate=False)
    assert "card_number" in refused.value.message_dict or "__all__" in refused.value.message_dict
    user_upsert(username="reader3", validate=False)
    user_upsert(username="reader4", validate=False)  # no card: as many readers without one as there are
