"""Builds laws.csv from a checkout of the LawRefBook/Laws repository (see README.md in this folder).

Not imported by the application: run by hand when the list is refreshed, then review the diff.

    python search_index/data/make_laws_csv.py /path/to/LawRefBook-Laws > search_index/data/laws.csv

Every full title is the first heading (``# …``) of that repository's text of a law, administrative
regulation or judicial interpretation that its database (``db.sqlite3``) marks as not expired; the
short forms are the title without 中华人民共和国 plus the abbreviations in ``SHORT_FORMS`` below.  Ids
of titles already in the existing laws.csv are kept (the index stores them), new titles get new ids.
"""

import csv
import re
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

PRC = "中华人民共和国"
KINDS = {"宪法": ("法律", "f"), "法律": ("法律", "f"), "行政法规": ("行政法规", "x"), "司法解释": ("司法解释", "j")}
SOURCE = "LawRefBook/Laws@2f4c5c2 (2025-04-19), 国家法律法规数据库"

#: Abbreviations in common use by judges and in legal writing, by official title.
SHORT_FORMS = {
    "中华人民共和国民法典": ["民法典"],
    "中华人民共和国民事诉讼法": ["民诉法", "民诉"],
    "中华人民共和国刑事诉讼法": ["刑诉法", "刑诉"],
    "中华人民共和国行政诉讼法": ["行诉法", "行诉"],
    "中华人民共和国劳动合同法": ["劳合法"],
    "中华人民共和国劳动争议调解仲裁法": ["劳动仲裁法"],
    "中华人民共和国消费者权益保护法": ["消法", "消保法"],
    "中华人民共和国企业破产法": ["破产法"],
    "中华人民共和国国家赔偿法": ["国赔法"],
    "中华人民共和国治安管理处罚法": ["治安处罚法"],
    "中华人民共和国道路交通安全法": ["道交法"],
    "中华人民共和国个人信息保护法": ["个保法"],
    "中华人民共和国著作权法": ["版权法"],
    "中华人民共和国土地管理法": ["土管法"],
    "中华人民共和国城市房地产管理法": ["房地产管理法"],
    "中华人民共和国环境保护法": ["环保法"],
    "中华人民共和国未成年人保护法": ["未保法"],
    "中华人民共和国人民法院组织法": ["法院组织法"],
    "中华人民共和国人民检察院组织法": ["检察院组织法"],
    "中华人民共和国涉外民事关系法律适用法": ["法律适用法"],
    "中华人民共和国反家庭暴力法": ["反家暴法"],
    "中华人民共和国食品安全法": ["食安法"],
    "中华人民共和国网络安全法": ["网安法"],
    "中华人民共和国电子商务法": ["电商法"],
    "中华人民共和国社会保险法": ["社保法"],
    "中华人民共和国农村土地承包法": ["土地承包法"],
    "中华人民共和国招标投标法": ["招投标法"],
    "中华人民共和国税收征收管理法": ["税收征管法", "征管法"],
    "中华人民共和国个人所得税法": ["个税法"],
    "中华人民共和国出境入境管理法": ["出入境管理法"],
    "中华人民共和国民用航空法": ["民航法"],
    "中华人民共和国证券投资基金法": ["基金法"],
    "中华人民共和国中国人民银行法": ["人民银行法"],
    "中华人民共和国全国人民代表大会和地方各级人民代表大会选举法": ["选举法"],
    "中华人民共和国地方各级人民代表大会和地方各级人民政府组织法": ["地方组织法"],
    "中华人民共和国香港特别行政区基本法": ["香港基本法"],
    "中华人民共和国澳门特别行政区基本法": ["澳门基本法"],
    "最高人民法院关于适用《中华人民共和国民事诉讼法》的解释": ["民诉解释", "民诉法解释", "民事诉讼法解释"],
    "最高人民法院关于适用《中华人民共和国刑事诉讼法》的解释": ["刑诉解释", "刑诉法解释", "刑事诉讼法解释"],
    "最高人民法院关于适用《中华人民共和国行政诉讼法》的解释": ["行诉解释", "行诉法解释", "行政诉讼法解释"],
    "最高人民法院关于适用《中华人民共和国民法典》有关担保制度的解释": ["担保制度解释", "民法典担保制度解释"],
    "最高人民法院关于适用《中华人民共和国民法典》合同编通则若干问题的解释": ["合同编通则解释"],
    "最高人民法院关于适用《中华人民共和国民法典》总则编若干问题的解释": ["总则编解释"],
    "最高人民法院关于适用《中华人民共和国民法典》物权编的解释（一）": ["物权编解释（一）", "物权编解释一"],
    "最高人民法院关于适用《中华人民共和国民法典》婚姻家庭编的解释（一）": ["婚姻家庭编解释（一）", "婚姻家庭编解释一"],
    "最高人民法院关于适用《中华人民共和国民法典》婚姻家庭编的解释（二）": ["婚姻家庭编解释（二）", "婚姻家庭编解释二"],
    "最高人民法院关于适用《中华人民共和国民法典》继承编的解释（一）": ["继承编解释（一）", "继承编解释一"],
    "最高人民法院关于适用《中华人民共和国民法典》侵权责任编的解释（一）": ["侵权责任编解释（一）", "侵权责任编解释一"],
    "最高人民法院关于适用《中华人民共和国民法典》时间效力的若干规定": ["民法典时间效力规定"],
    "最高人民法院关于审理建设工程施工合同纠纷案件适用法律问题的解释（一）": ["建设工程施工合同解释（一）", "建工解释一",
                                                                   "建工解释（一）"],
    "最高人民法院关于审理民间借贷案件适用法律若干问题的规定": ["民间借贷规定", "民间借贷司法解释"],
    "最高人民法院关于民事诉讼证据的若干规定": ["民事证据规定", "民事诉讼证据规定"],
    "最高人民法院关于人民法院民事执行中查封、扣押、冻结财产的规定": ["查扣冻规定"],
    "最高人民法院关于人民法院办理执行异议和复议案件若干问题的规定": ["执行异议复议规定", "执行异议和复议规定"],
    "最高人民法院关于适用《中华人民共和国公司法》若干问题的规定（一）": ["公司法解释（一）", "公司法解释一"],
    "最高人民法院关于适用《中华人民共和国公司法》若干问题的规定（二）": ["公司法解释（二）", "公司法解释二"],
    "最高人民法院关于适用《中华人民共和国公司法》若干问题的规定（三）": ["公司法解释（三）", "公司法解释三"],
    "最高人民法院关于适用《中华人民共和国公司法》若干问题的规定（四）": ["公司法解释（四）", "公司法解释四"],
    "最高人民法院关于适用《中华人民共和国公司法》若干问题的规定（五）": ["公司法解释（五）", "公司法解释五"],
    "最高人民法院关于审理劳动争议案件适用法律问题的解释（一）": ["劳动争议解释（一）", "劳动争议解释一"],
    "最高人民法院关于审理买卖合同纠纷案件适用法律问题的解释": ["买卖合同解释"],
    "最高人民法院关于审理商品房买卖合同纠纷案件适用法律若干问题的解释": ["商品房买卖合同解释"],
    "最高人民法院关于审理道路交通事故损害赔偿案件适用法律若干问题的解释": ["道路交通事故损害赔偿解释"],
    "最高人民法院关于审理人身损害赔偿案件适用法律若干问题的解释": ["人身损害赔偿解释"],
    "最高人民法院关于确定民事侵权精神损害赔偿责任若干问题的解释": ["精神损害赔偿解释"],
    "最高人民法院关于适用《中华人民共和国企业破产法》若干问题的规定（一）": ["破产法解释（一）", "破产法解释一"],
    "最高人民法院关于适用《中华人民共和国企业破产法》若干问题的规定（二）": ["破产法解释（二）", "破产法解释二"],
    "最高人民法院关于适用《中华人民共和国企业破产法》若干问题的规定（三）": ["破产法解释（三）", "破产法解释三"],
    "最高人民法院关于审理融资租赁合同纠纷案件适用法律问题的解释": ["融资租赁合同解释"],
    "最高人民法院关于审理城镇房屋租赁合同纠纷案件具体应用法律若干问题的解释": ["房屋租赁合同解释"],
    "最高人民法院关于适用《中华人民共和国保险法》若干问题的解释（一）": ["保险法解释（一）", "保险法解释一"],
    "最高人民法院关于适用《中华人民共和国保险法》若干问题的解释（二）": ["保险法解释（二）", "保险法解释二"],
    "最高人民法院关于适用《中华人民共和国保险法》若干问题的解释（三）": ["保险法解释（三）", "保险法解释三"],
    "最高人民法院关于适用《中华人民共和国保险法》若干问题的解释（四）": ["保险法解释（四）", "保险法解释四"],
    "最高人民法院关于审理行政协议案件若干问题的规定": ["行政协议规定"],
    "最高人民法院关于审理涉及农村土地承包纠纷案件适用法律问题的解释": ["农村土地承包纠纷解释"],
    "最高人民法院关于适用《中华人民共和国涉外民事关系法律适用法》若干问题的解释（一）": ["法律适用法解释（一）", "法律适用法解释一"],
    "最高人民法院关于适用《中华人民共和国仲裁法》若干问题的解释": ["仲裁法解释"],
    "最高人民法院关于适用《中华人民共和国民事诉讼法》执行程序若干问题的解释": ["执行程序解释"],
    "最高人民法院关于适用《中华人民共和国民事诉讼法》审判监督程序若干问题的解释": ["审判监督程序解释"],
    "最高人民法院关于审理民事案件适用诉讼时效制度若干问题的规定": ["诉讼时效规定"],
    "最高人民法院关于执行和解若干问题的规定": ["执行和解规定"],
    "最高人民法院关于审理著作权民事纠纷案件适用法律若干问题的解释": ["著作权纠纷解释"],
    "最高人民法院关于适用《中华人民共和国反不正当竞争法》若干问题的解释": ["反不正当竞争法解释"],
    "最高人民法院关于审理行政许可案件若干问题的规定": ["行政许可案件规定"],
}

#: Headings there that are not the official title: the issuing court is left out.
TITLE_FIXES = {
    "关于审理使用人脸识别技术处理个人信息相关民事案件适用法律若干问题的规定":
        "最高人民法院关于审理使用人脸识别技术处理个人信息相关民事案件适用法律若干问题的规定",
    "关于审理非法行医刑事案件具体应用法律若干问题的解释": "最高人民法院关于审理非法行医刑事案件具体应用法律若干问题的解释",
}
#: Listed there as laws but not laws or interpretations (a forensic standard of the courts and ministries).
EXCLUDED = {"人体损伤程度鉴定标准"}

#: The books (编) of the Civil Code, searched and cited as parts of it.
PARTS = {"中华人民共和国民法典": ["总则编", "物权编", "合同编", "人格权编", "婚姻家庭编", "继承编", "侵权责任编"]}


def _clean(title: str) -> str:
    title = re.sub(r"\s+", " ", title.strip()).replace("(", "（").replace(")", "）")
    return re.sub(r"(?<=[》、])\s|\s(?=[《])", "", title)


def main(repo: str) -> None:
    with tempfile.NamedTemporaryFile(suffix=".sqlite3") as db_file:
        db_file.write(subprocess.run(["git", "-C", repo, "show", "HEAD:db.sqlite3"], capture_output=True,
                                     check=True).stdout)
        db_file.flush()
        rows = sqlite3.connect(db_file.name).execute("select level, name, publish from law where expired = 0").fetchall()
    files = subprocess.run(["git", "-c", "core.quotepath=off", "-C", repo, "ls-tree", "-r", "--name-only", "HEAD"],
                           capture_output=True, text=True, check=True).stdout.splitlines()
    by_name: dict[tuple[str, str | None], str] = {}
    for path in files:
        m = re.match(r"(?:.*/)?([^/]+?)(?:\((\d{4}-\d{2}-\d{2})\))?\.md$", path)
        if m and not path.startswith(("DLC/", "案例/", "scripts/")):
            by_name.setdefault((m.group(1), m.group(2)), path)
    found: dict[str, tuple[str, str]] = {}
    # The Civil Code is kept there as one file per book (民法典/物权编.md …, headed by the book's name).
    found: dict[str, tuple[str, str]] = {"中华人民共和国民法典": ("法律", "2020-05-28")}
    for level, name, publish in rows:
        if name.startswith("民法典 "):
            continue
        path = by_name.get((name, publish)) or by_name.get((name, None))
        if level not in KINDS or path is None:
            continue
        text = subprocess.run(["git", "-C", repo, "show", f"HEAD:{path}"], capture_output=True, text=True,
                              check=True).stdout
        heading = next((line[2:] for line in text.splitlines() if line.startswith("# ")), None)
        if heading:
            title = _clean(heading)
            title = TITLE_FIXES.get(title, title)
            if title in EXCLUDED:
                continue
            if title not in found or (publish or "") > found[title][1]:
                found[title] = (level, publish or "")
    missing = sorted(set(SHORT_FORMS) - set(found))
    if missing:
        sys.exit(f"titles with short forms not in the list: {missing}")
    old = Path(__file__).with_name("laws.csv")
    ids: dict[str, str] = {}
    if old.exists():
        with old.open(encoding="utf-8") as f:
            ids = {row["title"]: row["id"] for row in csv.DictReader(f)}
    counters = {prefix: max([int(i[1:]) for i in ids.values() if i[0] == prefix] or [0]) for _k, prefix in KINDS.values()}
    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow(["id", "title", "kind", "short_forms", "parts", "source"])
    order = {"法律": 0, "宪法": 0, "司法解释": 1, "行政法规": 2}
    for title, (level, _publish) in sorted(found.items(), key=lambda item: (order[item[1][0]], item[0])):
        kind, prefix = KINDS[level]
        if title not in ids:
            counters[prefix] += 1
            ids[title] = f"{prefix}{counters[prefix]:04d}"
        forms = []
        if title.startswith(PRC) and len(title) > len(PRC) + 1:
            forms.append(title[len(PRC):])
        forms += [f for f in SHORT_FORMS.get(title, []) if f not in forms]
        out.writerow([ids[title], title, kind, "|".join(forms), "|".join(PARTS.get(title, [])), SOURCE])


if __name__ == "__main__":
    main(sys.argv[1])
