"""Expanding a feed with ical.js (static/vendor/ical.js), the parser of Thunderbird and of many web calendars:
in Node when it is installed, and in a browser page (``BROWSER_EXPAND`` for Playwright's ``page.evaluate``).

Both run ``EXPAND``: each VEVENT without RECURRENCE-ID becomes an ``ICAL.Event``, its exceptions are related to
it by UID, and a recurring one is iterated as a client would (EXDATEs skipped, exceptions' times and titles
applied); the result is the (SUMMARY, start in UTC, STATUS) of every occurrence overlapping the range."""

import json
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

ICAL_JS = Path(__file__).resolve().parents[2] / "static" / "vendor" / "ical.js" / "ical.min.js"
NODE = shutil.which("node")

EXPAND = """
function expand(ICAL, text, fromIso, toIso) {
  const root = new ICAL.Component(ICAL.parse(text));
  for (const tz of root.getAllSubcomponents("vtimezone")) ICAL.TimezoneService.register(tz);
  const masters = new Map(), exceptions = [];
  for (const vevent of root.getAllSubcomponents("vevent")) {
    if (vevent.hasProperty("recurrence-id")) exceptions.push(vevent);
    else masters.set(vevent.getFirstPropertyValue("uid"), new ICAL.Event(vevent));
  }
  for (const vevent of exceptions) {
    const master = masters.get(vevent.getFirstPropertyValue("uid"));
    if (master) master.relateException(vevent);
  }
  const from = ICAL.Time.fromJSDate(new Date(fromIso), true), to = ICAL.Time.fromJSDate(new Date(toIso), true);
  const out = [];
  const add = (item, start, end) => {
    if (start.compare(to) < 0 && end.compare(from) > 0) {
      out.push([item.summary, start.toJSDate().toISOString(), item.component.getFirstPropertyValue("status")]);
    }
  };
  for (const event of masters.values()) {
    if (!event.isRecurring()) { add(event, event.startDate, event.endDate); continue; }
    const iterator = event.iterator();
    for (let next = iterator.next(), n = 0; next && n < 5000; next = iterator.next(), n++) {
      const details = event.getOccurrenceDetails(next);
      if (next.compare(to) >= 0 && details.startDate.compare(to) >= 0) break;
      add(details.item, details.startDate, details.endDate);
    }
  }
  return out.sort();
}
"""

#: For ``page.evaluate(BROWSER_EXPAND, {"url": …, "from": …, "to": …})`` on a page of the site: fetches the
#: feed and imports the vendored module from the site itself (its Content-Security-Policy allows 'self').
BROWSER_EXPAND = "async ({url, from, to}) => {" + EXPAND + """
  const ICAL = (await import("/static/vendor/ical.js/ical.min.js")).default;
  const text = await (await fetch(url)).text();
  return expand(ICAL, text, from, to);
}"""


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse_rows(rows) -> list[tuple[str, datetime, str]]:
    return sorted((summary, datetime.fromisoformat(start.replace("Z", "+00:00")), status or "")
                  for summary, start, status in rows)


def expand_with_node(body: bytes, start: datetime, end: datetime, workdir: Path) -> list[tuple[str, datetime, str]]:
    """The occurrences ical.js finds in ``body`` between ``start`` and ``end``, run in Node."""
    # The vendored file is an ES module named .js: copied as .mjs, Node loads it as one whatever its version.
    shutil.copy(ICAL_JS, workdir / "ical.mjs")
    (workdir / "feed.ics").write_bytes(body)
    script = workdir / "expand.mjs"
    script.write_text("import ICAL from './ical.mjs';\nimport { readFileSync } from 'node:fs';\n" + EXPAND + f"""
const text = readFileSync(new URL('./feed.ics', import.meta.url), 'utf8');
process.stdout.write(JSON.stringify(expand(ICAL, text, {json.dumps(_iso(start))}, {json.dumps(_iso(end))})));
""")
    done = subprocess.run([NODE, str(script)], capture_output=True, text=True, timeout=60, check=True)
    return parse_rows(json.loads(done.stdout))
