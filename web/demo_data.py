"""Demo data for ``manage.py load_demo``: accounts, books with their copies, and research papers.

Plain Python structures only, with no Django imports, so that tooling (the
Makefile) can print DEMO_ACCOUNTS without setting Django up.  ISBNs are
ISBN-13 with valid check digits; most are made up for the demo.
"""

#: The demo logins, printed by ``load_demo`` and by the Makefile.  Demo only:
#: never load these into a production database.  Addresses are example.org's (RFC 2606), so a demo whose
#: mail is really sent reaches no one; a reader without "notices" has the default (e-mail for everything).
DEMO_ACCOUNTS: tuple[dict, ...] = (
    {
        "username": "judge",
        "email": "zhangming@example.org",
        "card_number": "R0001",
        "password": "judge-demo-2026",
        "roles": ("judge",),
        "superuser": False,
        "display_name": "张明",
        "division": "民事审判庭",
        "title": "审判员",
        "phone": "139 0000 0001",
        # Where his notices go (/me, 通知方式): e-mail for all, and a text message as well when a book he
        # reserved is in, when one is overdue, and when an event he registered for is cancelled.
        "notices": {"overdue": ["email", "sms"], "hold_ready": ["email", "sms"], "event_cancelled": ["email", "sms"]},
    },
    {
        "username": "judge2",
        "email": "bateer@example.org",
        "card_number": "R0002",
        "password": "judge2-demo-2026",
        "roles": ("judge",),
        "superuser": False,
        "display_name": "巴特尔",
        "division": "执行局",
        "title": "审判员",
    },
    {
        "username": "librarian",
        "email": "lina@example.org",
        "card_number": "R0003",
        "password": "librarian-demo-2026",
        "roles": ("librarian",),
        "superuser": False,
        "display_name": "李娜",
        "division": "办公室（法官书苑）",
        "title": "馆员",
    },
    {
        "username": "organizer",
        "email": "wangfang@example.org",
        "card_number": "R0004",
        "password": "organizer-demo-2026",
        "roles": ("organizer",),
        "superuser": False,
        "display_name": "王芳",
        "division": "政治部",
        "title": "活动组织者",
    },
    {
        # The court's leadership: the library-wide reports (/reports), by division; no admin, no borrowing.
        "username": "manager",
        "email": "gaoyuan@example.org",
        "card_number": "R0006",
        "password": "manager-demo-2026",
        "roles": ("manager",),
        "superuser": False,
        "display_name": "高远",
        "division": "院领导",
        "title": "副院长",
    },
    {
        "username": "admin",
        "email": "zhaolei@example.org",
        "card_number": "R0005",
        "password": "admin-demo-2026",
        "roles": (),
        "superuser": True,
        "display_name": "赵磊",
        "division": "司法技术室",
        "title": "系统管理员",
    },
)

#: Judges of the court who borrowed books before the demo began: readers of the loan history only, with no
#: password (they cannot log in) and no place in the account table.  Their returned loans make "借过这本书的读者
#: 还借了" on a book page (library.related) meet its rule of at least three distinct readers.
DEMO_READERS: tuple[dict, ...] = (
    {"username": "reader_chen", "display_name": "陈静", "division": "民事审判庭", "card_number": "R0101",
     "email": "chenjing@example.org"},
    {"username": "reader_liu", "display_name": "刘洋", "division": "立案庭", "card_number": "R0102",
     "email": "liuyang@example.org"},
    {"username": "reader_zhou", "display_name": "周涛", "division": "执行局", "card_number": "R0103",
     "email": "zhoutao@example.org"},
    {"username": "reader_wu", "display_name": "吴敏", "division": "民事审判庭", "card_number": "R0104",
     "email": "wumin@example.org"},
)

#: Their past loans, all returned: (reader, copy barcode, borrowed days ago, returned days ago), written in
#: order of borrowing, no copy lent twice at once.  A cluster around security interests (担保物权): the 物权编 commentary (FG000036–38),
#: 民法物权 (FG000049–50), 担保物权研究 (FG000052–53), 担保法论 (FG000054), the civil-procedure interpretation's
#: commentary (FG000092–94, where the special procedure for realising a security interest is) and the 执行异议
#: commentary (FG000097).  On the 物权编 page 民法物权 and 担保物权研究 are each shared by three readers, but share
#: its subjects and class and so show under 同类图书 (a book is listed once); the interpretation's commentary,
#: of another class and subjects, shared by three, is what 借过本书的读者也借过 shows; the 执行异议 commentary,
#: shared by two, and 担保法论, by one, are not shown there.
DEMO_READER_LOANS: tuple[tuple[str, str, int, int], ...] = (
    ("reader_chen", "FG000036", 170, 149),
    ("reader_liu", "FG000052", 165, 140),
    ("reader_chen", "FG000052", 138, 118),
    ("reader_zhou", "FG000037", 132, 110),
    ("reader_liu", "FG000036", 126, 104),
    ("reader_chen", "FG000049", 115, 96),
    ("reader_wu", "FG000052", 112, 90),
    ("reader_zhou", "FG000053", 108, 85),
    ("reader_liu", "FG000050", 100, 77),
    ("reader_chen", "FG000092", 93, 70),
    ("reader_wu", "FG000049", 86, 63),
    ("reader_zhou", "FG000097", 80, 66),
    ("reader_liu", "FG000054", 72, 51),
    ("reader_zhou", "FG000094", 60, 38),
    ("reader_zhou", "FG000049", 58, 36),
    ("reader_wu", "FG000054", 47, 25),
    ("reader_liu", "FG000092", 40, 20),
    ("reader_liu", "FG000097", 30, 15),
)

#: Loans of the history's readers still out and overdue, so that the overdue report has a list to chase:
#: (reader, copy barcode, borrowed days ago).  With the loan period of 30 days, FG000021 is some 15 days overdue
#: and FG000025 some 42.  Readers, not the demo accounts: an overdue loan stops its reader borrowing.
DEMO_OVERDUE_LOANS: tuple[tuple[str, str, int], ...] = (
    ("reader_zhou", "FG000021", 45),
    ("reader_liu", "FG000025", 72),
)

#: Downloads of papers' full texts (reader, paper title, days ago), written once into a library that has
#: recorded none, so that 调研成果下载排行 (reports "top-papers") and a judge's own year are not empty in the demo:
#: the security-interest paper is the most read (four readers), the 流押 paper second, the 执行难 paper third.
DEMO_PAPER_DOWNLOADS: tuple[tuple[str, str, int], ...] = (
    ("reader_chen", "关于担保物权实现程序问题的研究", 150),
    ("reader_liu", "关于担保物权实现程序问题的研究", 141),
    ("reader_zhou", "关于担保物权实现程序问题的研究", 107),
    ("judge", "关于担保物权实现程序问题的研究", 30),
    ("reader_chen", "流押条款的效力与抵押权的实现——以民法典第四百零一条为中心", 95),
    ("judge", "流押条款的效力与抵押权的实现——以民法典第四百零一条为中心", 20),
    ("reader_zhou", "基层法院破解“执行难”的实践路径——以鄂尔多斯地区为样本", 66),
    ("judge2", "草原生态环境司法保护的实证研究", 12),
)

#: Public holidays (days off, 调休 included) by year, as the State Council's notice for the year lists
#: them; load_demo seeds the current year's as closed days.  A year not listed gets the fixed-date
#: statutory holidays only (元旦, 劳动节, 国庆节), since the lunar ones depend on that year's notice.
PUBLIC_HOLIDAYS: dict[int, tuple[tuple[str, str, str], ...]] = {
    2026: (
        ("2026-01-01", "2026-01-03", "元旦"),
        ("2026-02-15", "2026-02-23", "春节"),
        ("2026-04-04", "2026-04-06", "清明节"),
        ("2026-05-01", "2026-05-05", "劳动节"),
        ("2026-06-19", "2026-06-21", "端午节"),
        ("2026-09-25", "2026-09-27", "中秋节"),
        ("2026-10-01", "2026-10-07", "国庆节"),
    ),
}
FIXED_DATE_HOLIDAYS: tuple[tuple[str, str, str], ...] = (
    ("01-01", "01-01", "元旦"),
    ("05-01", "05-02", "劳动节"),
    ("10-01", "10-03", "国庆节"),
)

#: Where copies are kept and readers pick requested books up: (name, code, address, opening hours, open
#: weekdays — a pickup deadline counts the place's open days).
LOCATIONS = (
    ("院本部", "main", "法院办公楼三层 法官书苑", "周一至周五 8:30–12:00，14:30–17:30", "12345"),
    ("棋盘井法庭", "qpj", "棋盘井镇人民法庭一层阅览角", "周二、周四 9:00–16:30（巡回车每周二、四往返院本部）", "24"),
)

#: Books, one per edition.  ``contributors`` are (name, role) pairs with role
#: author, editor or translator; ``language`` defaults to "zh".  Books are
#: matched by ISBN, or by title when they have none; copies by barcode.
BOOKS: list[dict] = [
    {
        "isbn": "9787040501254",
        "title": "法理学",
        "contributors": [("张文显", "editor")],
        "publisher": "高等教育出版社",
        "year": 2018,
        "edition": "第五版",
        "clc": "D90",
        "call_number": "D90/Z43",
        "subjects": ["法理学", "法学理论"],
        "summary": "全国高校法学专业核心课程教材，系统阐述法的本体、法的运行与法的价值。",
        "copies": [
            {"barcode": "FG000001", "location": "院本部", "shelf": "A-01", "acquired_on": "2018-04-08"},
        ],
    },
    {
        "isbn": "9787301242131",
        "title": "法理学",
        "contributors": [("沈宗灵", "editor")],
        "publisher": "北京大学出版社",
        "year": 2014,
        "edition": "第四版",
        "clc": "D90",
        "call_number": "D90/S57",
        "subjects": ["法理学"],
        "summary": "以法的一般理论为主线，兼顾中外法学理论的比较，是经典的法理学教材。",
        "copies": [
            {"barcode": "FG000002", "location": "院本部", "shelf": "A-01", "acquired_on": "2014-05-15"},
        ],
    },
    {
        "isbn": "9787301169254",
        "title": "法哲学：立场与方法",
        "contributors": [("舒国滢", "author")],
        "publisher": "北京大学出版社",
        "year": 2010,
        "clc": "D90",
        "call_number": "D90/S55",
        "subjects": ["法哲学", "法学方法"],
        "summary": "收录作者关于法哲学基本立场与法学方法论的系列论文，探讨法学知识的性质。",
        "copies": [
            {"barcode": "FG000003", "location": "院本部", "shelf": "A-01", "acquired_on": "2010-06-22"},
        ],
    },
    {
        "isbn": "9787511823410",
        "title": "法律的概念",
        "contributors": [("H.L.A.哈特", "author"), ("许家馨", "translator"), ("李冠宜", "translator")],
        "publisher": "法律出版社",
        "year": 2018,
        "edition": "第三版",
        "clc": "D90",
        "call_number": "D90/H33",
        "subjects": ["法律实证主义", "法哲学"],
        "summary": "新分析法学的奠基之作，以“规则的结合”解释法律体系，并附后记回应德沃金的批评。",
        "copies": [
            {"barcode": "FG000004", "location": "院本部", "shelf": "A-01", "acquired_on": "2018-07-02"},
            {"barcode": "FG000005", "location": "院本部", "shelf": "A-01", "acquired_on": "2018-08-09"},
        ],
    },
    {
        "isbn": "9787100186230",
        "title": "法学方法论",
        "subtitle": "全本·第六版",
        "contributors": [("卡尔·拉伦茨", "author"), ("黄家镇", "translator")],
        "publisher": "商务印书馆",
        "year": 2020,
        "clc": "D90-03",
        "call_number": "D90-03/L13",
        "subjects": ["法学方法论", "法律解释"],
        "summary": "德国法学方法论的经典著作，系统讨论法律解释、法的续造与类型化思维。",
        "copies": [
            {"barcode": "FG000006", "location": "院本部", "shelf": "A-01", "acquired_on": "2020-09-16"},
        ],
    },
    {
        "isbn": "9787300293844",
        "title": "法学方法论",
        "contributors": [("王利明", "author")],
        "publisher": "中国人民大学出版社",
        "year": 2021,
        "edition": "第二版",
        "clc": "D90-03",
        "call_number": "D90-03/W22",
        "subjects": ["法学方法论", "法律适用"],
        "summary": "结合我国民法典的适用，阐述法律解释、漏洞填补与裁判说理的基本方法。",
        "copies": [
            {"barcode": "FG000007", "location": "院本部", "shelf": "A-01", "acquired_on": "2021-10-23"},
            {"barcode": "FG000008", "location": "棋盘井法庭", "shelf": "F-04", "acquired_on": "2021-11-03"},
        ],
    },
    {
        "isbn": "9787511808745",
        "title": "裁判的方法",
        "contributors": [("梁慧星", "author")],
        "publisher": "法律出版社",
        "year": 2017,
        "edition": "第三版",
        "clc": "D90-03",
        "call_number": "D90-03/L37",
        "subjects": ["裁判方法", "法律解释"],
        "summary": "以大量裁判实例说明法官如何认定事实、解释法律、填补漏洞，是法官的案头读物。",
        "copies": [
            {"barcode": "FG000009", "location": "院本部", "shelf": "A-01", "acquired_on": "2017-03-10"},
            {"barcode": "FG000010", "location": "棋盘井法庭", "shelf": "F-04", "acquired_on": "2017-04-17", "status": "repair", "note": "书脊开裂，已送装订"},
            {"barcode": "FG000011", "location": "院本部", "shelf": "A-01", "acquired_on": "2017-05-24"},
        ],
    },
    {
        "isbn": "9787562073413",
        "title": "法理学：法律哲学与法律方法",
        "contributors": [("E.博登海默", "author"), ("邓正来", "translator")],
        "publisher": "中国政法大学出版社",
        "year": 2017,
        "edition": "修订版",
        "clc": "D90",
        "call_number": "D90/B63",
        "subjects": ["法理学", "法律哲学"],
        "summary": "综合自然法学、分析法学与社会法学的观点，论述法律的性质、目的与方法。",
        "copies": [
            {"barcode": "FG000012", "location": "院本部", "shelf": "A-01", "acquired_on": "2017-06-04"},
        ],
    },
    {
        "isbn": "9787301258712",
        "title": "法治及其本土资源",
        "contributors": [("苏力", "author")],
        "publisher": "北京大学出版社",
        "year": 2015,
        "edition": "第三版",
        "clc": "D920.0",
        "call_number": "D920.0/S88",
        "subjects": ["法治", "法律社会学"],
        "summary": "主张中国法治建设应重视本土资源与民间秩序，是法律社会学的代表作。",
        "copies": [
            {"barcode": "FG000013", "location": "院本部", "shelf": "A-04", "acquired_on": "2015-07-11"},
        ],
    },
    {
        "isbn": "9787100082075",
        "title": "中国法律与中国社会",
        "contributors": [("瞿同祖", "author")],
        "publisher": "商务印书馆",
        "year": 2010,
        "clc": "D929",
        "call_number": "D929/Q74",
        "subjects": ["中国法制史", "法律社会学"],
        "summary": "从家族、婚姻、阶级与宗教等方面考察中国古代法律与社会的关系。",
        "copies": [
            {"barcode": "FG000014", "location": "院本部", "shelf": "A-02", "acquired_on": "2010-08-18"},
        ],
    },
    {
        "isbn": "9787511811936",
        "title": "中华法制文明的演进",
        "contributors": [("张晋藩", "author")],
        "publisher": "法律出版社",
        "year": 2010,
        "edition": "修订版",
        "clc": "D929",
        "call_number": "D929/Z33",
        "subjects": ["中国法制史", "法律文化"],
        "summary": "通论中华法制文明自先秦至近代的发展脉络与基本特征。",
        "copies": [
            {"barcode": "FG000015", "location": "院本部", "shelf": "A-02", "acquired_on": "2010-09-25"},
        ],
    },
    {
        "isbn": "9787100139267",
        "title": "从宪法规范到规范宪法",
        "subtitle": "规范宪法学的一种前言",
        "contributors": [("林来梵", "author")],
        "publisher": "商务印书馆",
        "year": 2017,
        "clc": "D911.01",
        "call_number": "D911.01/L61",
        "subjects": ["宪法学", "规范宪法"],
        "summary": "倡导以规范分析为方法的宪法学研究，讨论宪法规范的效力与解释。",
        "copies": [
            {"barcode": "FG000016", "location": "院本部", "shelf": "A-03", "acquired_on": "2017-10-05"},
        ],
    },
    {
        "isbn": "9787301305980",
        "title": "行政法与行政诉讼法",
        "contributors": [("姜明安", "editor")],
        "publisher": "北京大学出版社",
        "year": 2019,
        "edition": "第七版",
        "clc": "D912.1",
        "call_number": "D912.1/J53",
        "subjects": ["行政法", "行政诉讼法"],
        "summary": "行政法学通用教材，涵盖行政组织、行政行为、行政程序与行政救济。",
        "copies": [
            {"barcode": "FG000017", "location": "院本部", "shelf": "A-03", "acquired_on": "2019-11-12"},
            {"barcode": "FG000018", "location": "院本部", "shelf": "A-03", "acquired_on": "2019-03-19"},
        ],
    },
    {
        "isbn": "9787300214559",
        "title": "民法总论",
        "contributors": [("朱庆育", "author")],
        "publisher": "北京大学出版社",
        "year": 2016,
        "edition": "第二版",
        "clc": "D913.01",
        "call_number": "D913.01/Z77",
        "subjects": ["民法总论", "法律行为"],
        "summary": "以法律行为为中心重述民法总论，论证细密，注重德国法与我国法的比较。",
        "copies": [
            {"barcode": "FG000019", "location": "院本部", "shelf": "A-03", "acquired_on": "2016-04-26"},
        ],
    },
    {
        "isbn": "9787100174510",
        "title": "刑法的基本立场",
        "contributors": [("张明楷", "author")],
        "publisher": "商务印书馆",
        "year": 2019,
        "edition": "修订版",
        "clc": "D914.01",
        "call_number": "D914.01/Z35",
        "subjects": ["刑法学", "结果无价值"],
        "summary": "阐明结果无价值论、客观主义等刑法基本立场及其在解释论上的展开。",
        "copies": [
            {"barcode": "FG000020", "location": "院本部", "shelf": "A-03", "acquired_on": "2019-05-06"},
        ],
    },
    {
        "isbn": "9787511830166",
        "title": "证据法学",
        "contributors": [("何家弘", "author"), ("刘品新", "author")],
        "publisher": "法律出版社",
        "year": 2019,
        "edition": "第六版",
        "clc": "D915.13",
        "call_number": "D915.13/H28",
        "subjects": ["证据法", "证明责任"],
        "summary": "系统介绍证据的种类、收集、审查判断与证明责任分配规则。",
        "copies": [
            {"barcode": "FG000021", "location": "院本部", "shelf": "A-03", "acquired_on": "2019-06-13"},
            {"barcode": "FG000022", "location": "棋盘井法庭", "shelf": "F-04", "acquired_on": "2019-07-20"},
        ],
    },
    {
        "isbn": "9787519772161",
        "title": "中华人民共和国宪法释义",
        "contributors": [("全国人大常委会法制工作委员会宪法室", "editor")],
        "publisher": "法律出版社",
        "year": 2018,
        "clc": "D921.05",
        "call_number": "D921.05/Q12",
        "subjects": ["宪法", "宪法修正案"],
        "summary": "逐条阐释2018年修正后的宪法条文及其立法背景。",
        "copies": [
            {"barcode": "FG000023", "location": "院本部", "shelf": "B-01", "acquired_on": "2018-08-27"},
        ],
    },
    {
        "isbn": "9787511865403",
        "title": "1954年宪法制定过程",
        "contributors": [("韩大元", "author")],
        "publisher": "法律出版社",
        "year": 2014,
        "clc": "D921.09",
        "call_number": "D921.09/H16",
        "subjects": ["宪法史", "五四宪法"],
        "summary": "依据档案文献还原1954年宪法的起草、讨论与通过过程。",
        "copies": [
            {"barcode": "FG000024", "location": "院本部", "shelf": "B-01", "acquired_on": "2014-09-07"},
        ],
    },
    {
        "isbn": "9787302270416",
        "title": "行政法讲义",
        "contributors": [("余凌云", "author")],
        "publisher": "清华大学出版社",
        "year": 2019,
        "edition": "第三版",
        "clc": "D922.1",
        "call_number": "D922.1/Y79",
        "subjects": ["行政法", "行政行为"],
        "summary": "以讲义体讨论行政法基本原理与我国行政执法实践中的疑难问题。",
        "copies": [
            {"barcode": "FG000025", "location": "院本部", "shelf": "B-02", "acquired_on": "2019-10-14"},
        ],
    },
    {
        "isbn": "9787519750190",
        "title": "行政诉讼法",
        "contributors": [("何海波", "author")],
        "publisher": "法律出版社",
        "year": 2022,
        "edition": "第三版",
        "clc": "D925.3",
        "call_number": "D925.3/H28",
        "subjects": ["行政诉讼法", "司法审查"],
        "summary": "以案例与判决为素材，全面阐述行政诉讼的受案范围、审查标准与裁判方式。",
        "copies": [
            {"barcode": "FG000026", "location": "院本部", "shelf": "B-07", "acquired_on": "2022-11-21"},
            {"barcode": "FG000027", "location": "院本部", "shelf": "B-07", "acquired_on": "2022-03-01"},
        ],
    },
    {
        "isbn": "9787509362815",
        "title": "新行政诉讼法专题讲座",
        "contributors": [("江必新", "editor")],
        "publisher": "中国法制出版社",
        "year": 2015,
        "clc": "D925.3",
        "call_number": "D925.3/J51",
        "subjects": ["行政诉讼法", "法律修改"],
        "summary": "围绕2014年行政诉讼法修改，分专题解读立案登记、复议机关作共同被告等新制度。",
        "copies": [
            {"barcode": "FG000028", "location": "院本部", "shelf": "B-07", "acquired_on": "2015-04-08"},
            {"barcode": "FG000029", "location": "棋盘井法庭", "shelf": "F-02", "acquired_on": "2015-05-15"},
        ],
    },
    {
        "isbn": "9787519783914",
        "title": "中华人民共和国民法典释义",
        "contributors": [("黄薇", "editor")],
        "publisher": "法律出版社",
        "year": 2020,
        "clc": "D923.05",
        "call_number": "D923.05/H81",
        "subjects": ["民法典", "法律释义"],
        "summary": "由立法机关工作人员撰写，逐条说明民法典条文的含义与立法理由。",
        "copies": [
            {"barcode": "FG000030", "location": "院本部", "shelf": "B-03", "acquired_on": "2020-06-22"},
            {"barcode": "FG000031", "location": "棋盘井法庭", "shelf": "F-01", "acquired_on": "2020-07-02"},
            {"barcode": "FG000032", "location": "院本部", "shelf": "B-03", "acquired_on": "2020-08-09"},
        ],
    },
    {
        "isbn": "9787510928659",
        "title": "中华人民共和国民法典总则编理解与适用",
        "contributors": [("最高人民法院民法典贯彻实施工作领导小组", "editor")],
        "publisher": "人民法院出版社",
        "year": 2020,
        "clc": "D923.1",
        "call_number": "D923.1/Z91",
        "subjects": ["民法典", "总则编", "司法适用"],
        "summary": "最高人民法院对民法典总则编的权威解读，结合审判实务说明条文的理解与适用。",
        "copies": [
            {"barcode": "FG000033", "location": "院本部", "shelf": "B-03", "acquired_on": "2020-09-16"},
            {"barcode": "FG000034", "location": "棋盘井法庭", "shelf": "F-01", "acquired_on": "2020-10-23"},
            {"barcode": "FG000035", "location": "院本部", "shelf": "B-03", "acquired_on": "2020-11-03"},
        ],
    },
    {
        "isbn": "9787510928666",
        "title": "中华人民共和国民法典物权编理解与适用",
        "contributors": [("最高人民法院民法典贯彻实施工作领导小组", "editor")],
        "publisher": "人民法院出版社",
        "year": 2020,
        "clc": "D923.2",
        "call_number": "D923.2/Z91",
        "subjects": ["民法典", "物权编", "担保物权"],
        "summary": "逐条解读民法典物权编，重点说明所有权、用益物权与担保物权规则在审判中的适用。",
        "copies": [
            {"barcode": "FG000036", "location": "院本部", "shelf": "B-03", "acquired_on": "2020-03-10"},
            {"barcode": "FG000037", "location": "棋盘井法庭", "shelf": "F-01", "acquired_on": "2020-04-17"},
            {"barcode": "FG000038", "location": "院本部", "shelf": "B-03", "acquired_on": "2020-05-24"},
        ],
    },
    {
        "isbn": "9787510928673",
        "title": "中华人民共和国民法典合同编理解与适用",
        "contributors": [("最高人民法院民法典贯彻实施工作领导小组", "editor")],
        "publisher": "人民法院出版社",
        "year": 2020,
        "clc": "D923.6",
        "call_number": "D923.6/Z91",
        "subjects": ["民法典", "合同编"],
        "summary": "逐条解读合同编通则与典型合同，附相关司法解释与典型案例。",
        "copies": [
            {"barcode": "FG000039", "location": "院本部", "shelf": "B-03", "acquired_on": "2020-06-04"},
            {"barcode": "FG000040", "location": "棋盘井法庭", "shelf": "F-01", "acquired_on": "2020-07-11"},
            {"barcode": "FG000041", "location": "院本部", "shelf": "B-03", "acquired_on": "2020-08-18"},
        ],
    },
    {
        "isbn": "9787510928680",
        "title": "中华人民共和国民法典婚姻家庭编继承编理解与适用",
        "contributors": [("最高人民法院民法典贯彻实施工作领导小组", "editor")],
        "publisher": "人民法院出版社",
        "year": 2020,
        "clc": "D923.9",
        "call_number": "D923.9/Z91",
        "subjects": ["民法典", "婚姻家庭", "继承"],
        "summary": "阐释婚姻家庭编与继承编的新规则，包括离婚冷静期、遗产管理人等制度。",
        "copies": [
            {"barcode": "FG000042", "location": "院本部", "shelf": "B-03", "acquired_on": "2020-09-25"},
            {"barcode": "FG000043", "location": "棋盘井法庭", "shelf": "F-01", "acquired_on": "2020-10-05"},
        ],
    },
    {
        "isbn": "9787510928697",
        "title": "中华人民共和国民法典侵权责任编理解与适用",
        "contributors": [("最高人民法院民法典贯彻实施工作领导小组", "editor")],
        "publisher": "人民法院出版社",
        "year": 2020,
        "clc": "D923.7",
        "call_number": "D923.7/Z91",
        "subjects": ["民法典", "侵权责任"],
        "summary": "逐条解读侵权责任编，涵盖损害赔偿、责任主体的特殊规定及各类特殊侵权。",
        "copies": [
            {"barcode": "FG000044", "location": "院本部", "shelf": "B-03", "acquired_on": "2020-11-12"},
            {"barcode": "FG000045", "location": "院本部", "shelf": "B-03", "acquired_on": "2020-03-19"},
        ],
    },
    {
        "isbn": "9787511805164",
        "title": "民法总论",
        "contributors": [("梁慧星", "author")],
        "publisher": "法律出版社",
        "year": 2017,
        "edition": "第五版",
        "clc": "D923.1",
        "call_number": "D923.1/L37",
        "subjects": ["民法总论", "民事法律行为"],
        "summary": "民法总论的经典教科书，体系完整、表述简明，适合法官系统温习民法基础理论。",
        "copies": [
            {"barcode": "FG000046", "location": "院本部", "shelf": "B-03", "acquired_on": "2017-04-26"},
            {"barcode": "FG000047", "location": "院本部", "shelf": "B-03", "acquired_on": "2017-05-06"},
        ],
    },
    {
        "isbn": "9787300253015",
        "title": "民法总则研究",
        "contributors": [("王利明", "author")],
        "publisher": "中国人民大学出版社",
        "year": 2018,
        "edition": "第三版",
        "clc": "D923.1",
        "call_number": "D923.1/W22",
        "subjects": ["民法总则", "民事主体"],
        "summary": "深入研究民法总则的体系、民事主体、法律行为与诉讼时效等问题。",
        "copies": [
            {"barcode": "FG000048", "location": "院本部", "shelf": "B-03", "acquired_on": "2018-06-13"},
        ],
    },
    {
        "isbn": "9787301167236",
        "title": "民法物权",
        "contributors": [("王泽鉴", "author")],
        "publisher": "北京大学出版社",
        "year": 2010,
        "edition": "第二版",
        "clc": "D923.2",
        "call_number": "D923.2/W23",
        "subjects": ["物权法", "担保物权"],
        "summary": "以台湾地区民法为素材，结合大量案例阐释物权的基本原理，对大陆物权法的解释多有参考价值。",
        "copies": [
            {"barcode": "FG000049", "location": "院本部", "shelf": "B-03", "acquired_on": "2010-07-20"},
            {"barcode": "FG000050", "location": "院本部", "shelf": "B-03", "acquired_on": "2010-08-27"},
        ],
    },
    {
        "isbn": "9787301227411",
        "title": "债法原理",
        "contributors": [("王泽鉴", "author")],
        "publisher": "北京大学出版社",
        "year": 2013,
        "edition": "第二版",
        "clc": "D923.3",
        "call_number": "D923.3/W23",
        "subjects": ["债法", "债的发生"],
        "summary": "论述债之发生、债之标的与债之效力等基本原理，是债法研究的经典著作。",
        "copies": [
            {"barcode": "FG000051", "location": "院本部", "shelf": "B-03", "acquired_on": "2013-09-07"},
        ],
    },
    {
        "isbn": "9787300270449",
        "title": "担保物权研究",
        "contributors": [("程啸", "author")],
        "publisher": "中国人民大学出版社",
        "year": 2019,
        "edition": "第二版",
        "clc": "D923.2",
        "call_number": "D923.2/C57",
        "subjects": ["担保物权", "抵押权", "质权"],
        "summary": "结合民法典编纂，对抵押权、质权、留置权及非典型担保作体系化研究。",
        "copies": [
            {"barcode": "FG000052", "location": "院本部", "shelf": "B-03", "acquired_on": "2019-10-14"},
            {"barcode": "FG000053", "location": "棋盘井法庭", "shelf": "F-01", "acquired_on": "2019-11-21"},
        ],
    },
    {
        "isbn": "9787511801234",
        "title": "担保法论",
        "contributors": [("高圣平", "author")],
        "publisher": "法律出版社",
        "year": 2009,
        "clc": "D923.2",
        "call_number": "D923.2/G23",
        "subjects": ["担保法", "担保物权", "保证"],
        "summary": "全面讨论人的担保与物的担保，注重比较法与我国担保交易实践。",
        "copies": [
            {"barcode": "FG000054", "location": "院本部", "shelf": "B-03", "acquired_on": "2009-03-01"},
        ],
    },
    {
        "isbn": "9787300291406",
        "title": "物权法",
        "contributors": [("崔建远", "author")],
        "publisher": "中国人民大学出版社",
        "year": 2021,
        "edition": "第五版",
        "clc": "D923.2",
        "call_number": "D923.2/C88",
        "subjects": ["物权法", "不动产登记"],
        "summary": "依据民法典物权编修订，阐述物权变动、所有权、用益物权与担保物权。",
        "copies": [
            {"barcode": "FG000055", "location": "院本部", "shelf": "B-03", "acquired_on": "2021-04-08"},
            {"barcode": "FG000056", "location": "棋盘井法庭", "shelf": "F-01", "acquired_on": "2021-05-15"},
        ],
    },
    {
        "isbn": "9787519778408",
        "title": "物权法",
        "contributors": [("梁慧星", "author"), ("陈华彬", "author")],
        "publisher": "法律出版社",
        "year": 2020,
        "edition": "第七版",
        "clc": "D923.2",
        "call_number": "D923.2/L37",
        "subjects": ["物权法"],
        "summary": "物权法经典教材，据民法典修订，条理清晰，便于查阅。",
        "copies": [
            {"barcode": "FG000057", "location": "院本部", "shelf": "B-03", "acquired_on": "2020-06-22"},
        ],
    },
    {
        "isbn": "9787519720162",
        "title": "中国物权法总论",
        "contributors": [("孙宪忠", "author")],
        "publisher": "法律出版社",
        "year": 2018,
        "edition": "第四版",
        "clc": "D923.2",
        "call_number": "D923.2/S97",
        "subjects": ["物权法", "物权行为"],
        "summary": "以区分原则为核心，论述物权法的基本原理与我国物权立法。",
        "copies": [
            {"barcode": "FG000058", "location": "院本部", "shelf": "B-03", "acquired_on": "2018-07-02"},
        ],
    },
    {
        "isbn": "9787300209142",
        "title": "合同法研究",
        "subtitle": "第一卷",
        "contributors": [("王利明", "author")],
        "publisher": "中国人民大学出版社",
        "year": 2015,
        "edition": "第三版",
        "clc": "D923.6",
        "call_number": "D923.6/W22",
        "subjects": ["合同法", "合同订立"],
        "summary": "合同法领域的代表性专著，第一卷讨论合同的订立、效力与履行。",
        "copies": [
            {"barcode": "FG000059", "location": "院本部", "shelf": "B-03", "acquired_on": "2015-08-09"},
            {"barcode": "FG000060", "location": "院本部", "shelf": "B-03", "acquired_on": "2015-09-16"},
        ],
    },
    {
        "isbn": "9787519722647",
        "title": "合同法总论",
        "contributors": [("韩世远", "author")],
        "publisher": "法律出版社",
        "year": 2018,
        "edition": "第四版",
        "clc": "D923.6",
        "call_number": "D923.6/H28",
        "subjects": ["合同法", "违约责任"],
        "summary": "系统论述合同法总则，尤重违约责任与合同解除的解释论。",
        "copies": [
            {"barcode": "FG000061", "location": "院本部", "shelf": "B-03", "acquired_on": "2018-10-23"},
            {"barcode": "FG000062", "location": "棋盘井法庭", "shelf": "F-01", "acquired_on": "2018-11-03"},
        ],
    },
    {
        "isbn": "9787301272909",
        "title": "合同法",
        "contributors": [("崔建远", "author")],
        "publisher": "北京大学出版社",
        "year": 2016,
        "edition": "第三版",
        "clc": "D923.6",
        "call_number": "D923.6/C88",
        "subjects": ["合同法"],
        "summary": "合同法教科书，兼顾理论与司法实务，附大量案例分析。",
        "copies": [
            {"barcode": "FG000063", "location": "院本部", "shelf": "B-03", "acquired_on": "2016-03-10"},
        ],
    },
    {
        "isbn": "9787519753221",
        "title": "侵权责任法",
        "contributors": [("程啸", "author")],
        "publisher": "法律出版社",
        "year": 2021,
        "edition": "第三版",
        "clc": "D923.7",
        "call_number": "D923.7/C57",
        "subjects": ["侵权责任", "损害赔偿"],
        "summary": "依民法典侵权责任编撰写的体系书，对过错、因果关系与损害赔偿论述详尽。",
        "copies": [
            {"barcode": "FG000064", "location": "院本部", "shelf": "B-03", "acquired_on": "2021-04-17"},
            {"barcode": "FG000065", "location": "院本部", "shelf": "B-03", "acquired_on": "2021-05-24"},
        ],
    },
    {
        "isbn": "9787511809421",
        "title": "亲属法原论",
        "contributors": [("余延满", "author")],
        "publisher": "法律出版社",
        "year": 2007,
        "clc": "D923.9",
        "call_number": "D923.9/Y73",
        "subjects": ["亲属法", "婚姻家庭"],
        "summary": "从比较法视角论述婚姻、亲子与监护制度。",
        "copies": [
            {"barcode": "FG000066", "location": "棋盘井法庭", "shelf": "F-01", "acquired_on": "2007-06-04"},
        ],
    },
    {
        "isbn": "9787510924781",
        "title": "最高人民法院新民间借贷司法解释理解与适用",
        "contributors": [("最高人民法院民事审判第一庭", "editor")],
        "publisher": "人民法院出版社",
        "year": 2021,
        "clc": "D923.6",
        "call_number": "D923.6/Z91-2",
        "subjects": ["民间借贷", "司法解释"],
        "summary": "解读修订后的民间借贷司法解释，明确利率保护上限与虚假诉讼的审查。",
        "copies": [
            {"barcode": "FG000067", "location": "院本部", "shelf": "B-03", "acquired_on": "2021-07-11"},
            {"barcode": "FG000068", "location": "棋盘井法庭", "shelf": "F-01", "acquired_on": "2021-08-18"},
        ],
    },
    {
        "isbn": "9787510926907",
        "title": "全国法院民商事审判工作会议纪要理解与适用",
        "contributors": [("最高人民法院民事审判第二庭", "editor")],
        "publisher": "人民法院出版社",
        "year": 2019,
        "clc": "D923.99",
        "call_number": "D923.99/Z91",
        "subjects": ["九民纪要", "商事审判"],
        "summary": "对《全国法院民商事审判工作会议纪要》逐条解读，统一公司、担保、金融等纠纷的裁判尺度。",
        "copies": [
            {"barcode": "FG000069", "location": "院本部", "shelf": "B-03", "acquired_on": "2019-09-25"},
            {"barcode": "FG000070", "location": "棋盘井法庭", "shelf": "F-01", "acquired_on": "2019-10-05"},
            {"barcode": "FG000071", "location": "院本部", "shelf": "B-03", "acquired_on": "2019-11-12"},
        ],
    },
    {
        "isbn": "9787519723019",
        "title": "公司法论",
        "contributors": [("施天涛", "author")],
        "publisher": "法律出版社",
        "year": 2018,
        "edition": "第四版",
        "clc": "D922.291.91",
        "call_number": "D922.291.91/S52",
        "subjects": ["公司法", "公司治理"],
        "summary": "全面论述公司设立、资本制度、公司治理与股东权利保护。",
        "copies": [
            {"barcode": "FG000072", "location": "院本部", "shelf": "B-02", "acquired_on": "2018-03-19"},
        ],
    },
    {
        "isbn": "9787511874122",
        "title": "现代公司法",
        "contributors": [("刘俊海", "author")],
        "publisher": "法律出版社",
        "year": 2015,
        "edition": "第三版",
        "clc": "D922.291.91",
        "call_number": "D922.291.91/L74",
        "subjects": ["公司法", "股东权利"],
        "summary": "以股东权保护为主线，研究公司法的理论与审判实务。",
        "copies": [
            {"barcode": "FG000073", "location": "院本部", "shelf": "B-02", "acquired_on": "2015-04-26"},
        ],
    },
    {
        "isbn": "9787511809773",
        "title": "劳动法",
        "contributors": [("王全兴", "author")],
        "publisher": "法律出版社",
        "year": 2017,
        "edition": "第四版",
        "clc": "D922.5",
        "call_number": "D922.5/W23",
        "subjects": ["劳动法", "劳动合同"],
        "summary": "阐述劳动法基本原理及劳动合同、工资、工时、劳动争议处理等制度。",
        "copies": [
            {"barcode": "FG000074", "location": "院本部", "shelf": "B-02", "acquired_on": "2017-05-06"},
            {"barcode": "FG000075", "location": "棋盘井法庭", "shelf": "F-03", "acquired_on": "2017-06-13"},
        ],
    },
    {
        "isbn": "9787300232102",
        "title": "劳动法和社会保障法",
        "contributors": [("林嘉", "editor")],
        "publisher": "中国人民大学出版社",
        "year": 2016,
        "edition": "第四版",
        "clc": "D922.5",
        "call_number": "D922.5/L54",
        "subjects": ["劳动法", "社会保障法"],
        "summary": "劳动法与社会保障法的综合教材，包含工伤保险与养老保险制度。",
        "copies": [
            {"barcode": "FG000076", "location": "院本部", "shelf": "B-02", "acquired_on": "2016-07-20"},
        ],
    },
    {
        "isbn": "9787301291832",
        "title": "环境法学",
        "contributors": [("汪劲", "author")],
        "publisher": "北京大学出版社",
        "year": 2018,
        "edition": "第四版",
        "clc": "D922.68",
        "call_number": "D922.68/W25",
        "subjects": ["环境法", "生态保护"],
        "summary": "讨论环境法的基本原则、环境管理制度与环境纠纷的解决。",
        "copies": [
            {"barcode": "FG000077", "location": "院本部", "shelf": "B-02", "acquired_on": "2018-08-27"},
        ],
    },
    {
        "isbn": "9787511965028",
        "title": "环境法学概要",
        "contributors": [("吕忠梅", "author")],
        "publisher": "法律出版社",
        "year": 2016,
        "clc": "D922.68",
        "call_number": "D922.68/L83",
        "subjects": ["环境法", "环境公益诉讼"],
        "summary": "简明介绍环境法体系，兼论环境公益诉讼与生态环境损害赔偿。",
        "copies": [
            {"barcode": "FG000078", "location": "棋盘井法庭", "shelf": "F-03", "acquired_on": "2016-09-07"},
        ],
    },
    {
        "isbn": "9787510929151",
        "title": "最高人民法院关于审理涉及农村土地承包纠纷案件司法解释理解与适用",
        "contributors": [("最高人民法院民事审判第一庭", "editor")],
        "publisher": "人民法院出版社",
        "year": 2021,
        "clc": "D922.32",
        "call_number": "D922.32/Z91",
        "subjects": ["农村土地承包", "司法解释"],
        "summary": "结合2018年农村土地承包法修改，解读土地承包经营权、土地经营权纠纷的审理规则。",
        "copies": [
            {"barcode": "FG000079", "location": "院本部", "shelf": "B-02", "acquired_on": "2021-10-14"},
            {"barcode": "FG000080", "location": "棋盘井法庭", "shelf": "F-03", "acquired_on": "2021-11-21"},
            {"barcode": "FG000081", "location": "院本部", "shelf": "B-02", "acquired_on": "2021-03-01"},
        ],
    },
    {
        "isbn": "9787511822062",
        "title": "刑法学",
        "contributors": [("张明楷", "author")],
        "publisher": "法律出版社",
        "year": 2021,
        "edition": "第六版",
        "clc": "D924",
        "call_number": "D924/Z35",
        "subjects": ["刑法学", "犯罪论"],
        "summary": "通行的刑法学体系书，分总论与各论，立足结果无价值论展开解释。",
        "copies": [
            {"barcode": "FG000082", "location": "院本部", "shelf": "B-06", "acquired_on": "2021-04-08"},
            {"barcode": "FG000083", "location": "棋盘井法庭", "shelf": "F-03", "acquired_on": "2021-05-15"},
            {"barcode": "FG000084", "location": "院本部", "shelf": "B-06", "acquired_on": "2021-06-22", "status": "lost", "note": "2025年清点时未找到"},
        ],
    },
    {
        "isbn": "9787300245119",
        "title": "规范刑法学",
        "contributors": [("陈兴良", "author")],
        "publisher": "中国人民大学出版社",
        "year": 2023,
        "edition": "第五版",
        "clc": "D924",
        "call_number": "D924/C41",
        "subjects": ["刑法学", "刑法规范"],
        "summary": "以刑法条文为中心的刑法学教科书，已反映刑法修正案（十一）、（十二）。",
        "copies": [
            {"barcode": "FG000085", "location": "院本部", "shelf": "B-06", "acquired_on": "2023-07-02"},
        ],
    },
    {
        "isbn": "9787300293189",
        "title": "刑法总论",
        "contributors": [("周光权", "author")],
        "publisher": "中国人民大学出版社",
        "year": 2021,
        "edition": "第四版",
        "clc": "D924.1",
        "call_number": "D924.1/Z74",
        "subjects": ["刑法总论", "行为无价值"],
        "summary": "以行为无价值二元论为立场论述犯罪论与刑罚论。",
        "copies": [
            {"barcode": "FG000086", "location": "院本部", "shelf": "B-06", "acquired_on": "2021-08-09"},
        ],
    },
    {
        "isbn": "9787300293011",
        "title": "民事诉讼法",
        "contributors": [("江伟", "editor"), ("肖建国", "editor")],
        "publisher": "中国人民大学出版社",
        "year": 2018,
        "edition": "第八版",
        "clc": "D925.1",
        "call_number": "D925.1/J36",
        "subjects": ["民事诉讼法", "诉讼程序"],
        "summary": "民事诉讼法学权威教材，系统阐述民事诉讼的基本原理、审判程序与执行程序。",
        "copies": [
            {"barcode": "FG000087", "location": "院本部", "shelf": "B-07", "acquired_on": "2018-09-16"},
            {"barcode": "FG000088", "location": "棋盘井法庭", "shelf": "F-02", "acquired_on": "2018-10-23"},
            {"barcode": "FG000089", "location": "院本部", "shelf": "B-07", "acquired_on": "2018-11-03"},
        ],
    },
    {
        "isbn": "9787519732400",
        "title": "民事诉讼法",
        "contributors": [("张卫平", "author")],
        "publisher": "法律出版社",
        "year": 2019,
        "edition": "第五版",
        "clc": "D925.1",
        "call_number": "D925.1/Z36",
        "subjects": ["民事诉讼法", "辩论主义"],
        "summary": "以诉讼构造为中心阐释民事诉讼的基本理论与程序规则。",
        "copies": [
            {"barcode": "FG000090", "location": "院本部", "shelf": "B-07", "acquired_on": "2019-03-10"},
            {"barcode": "FG000091", "location": "院本部", "shelf": "B-07", "acquired_on": "2019-04-17"},
        ],
    },
    {
        "isbn": "9787510912153",
        "title": "最高人民法院民事诉讼法司法解释理解与适用",
        "contributors": [("沈德咏", "editor")],
        "publisher": "人民法院出版社",
        "year": 2015,
        "clc": "D925.105",
        "call_number": "D925.105/S49",
        "subjects": ["民事诉讼法", "司法解释", "特别程序"],
        "summary": "逐条解读2015年民事诉讼法司法解释，包括实现担保物权案件等特别程序的审理。",
        "copies": [
            {"barcode": "FG000092", "location": "院本部", "shelf": "B-07", "acquired_on": "2015-05-24"},
            {"barcode": "FG000093", "location": "棋盘井法庭", "shelf": "F-02", "acquired_on": "2015-06-04"},
            {"barcode": "FG000094", "location": "院本部", "shelf": "B-07", "acquired_on": "2015-07-11"},
        ],
    },
    {
        "isbn": "9787300200453",
        "title": "民事执行法",
        "contributors": [("肖建国", "author")],
        "publisher": "中国人民大学出版社",
        "year": 2014,
        "clc": "D925.18",
        "call_number": "D925.18/X32",
        "subjects": ["民事执行", "强制执行"],
        "summary": "系统研究民事执行的基本原理、执行程序与执行救济。",
        "copies": [
            {"barcode": "FG000095", "location": "院本部", "shelf": "B-07", "acquired_on": "2014-08-18"},
            {"barcode": "FG000096", "location": "棋盘井法庭", "shelf": "F-02", "acquired_on": "2014-09-25"},
        ],
    },
    {
        "isbn": "9787510911279",
        "title": "最高人民法院关于人民法院办理执行异议和复议案件若干问题规定理解与适用",
        "contributors": [("江必新", "editor"), ("刘贵祥", "editor")],
        "publisher": "人民法院出版社",
        "year": 2015,
        "clc": "D925.18",
        "call_number": "D925.18/J51",
        "subjects": ["执行异议", "执行复议"],
        "summary": "对执行异议和复议司法解释逐条解读，明确案外人异议与买受人物权期待权的审查标准。",
        "copies": [
            {"barcode": "FG000097", "location": "院本部", "shelf": "B-07", "acquired_on": "2015-10-05"},
            {"barcode": "FG000098", "location": "棋盘井法庭", "shelf": "F-02", "acquired_on": "2015-11-12"},
            {"barcode": "FG000099", "location": "院本部", "shelf": "B-07", "acquired_on": "2015-03-19"},
        ],
    },
    {
        "isbn": "9787302128755",
        "title": "纠纷解决的理论与实践",
        "contributors": [("范愉", "author")],
        "publisher": "清华大学出版社",
        "year": 2007,
        "clc": "D925.114",
        "call_number": "D925.114/F19",
        "subjects": ["多元化纠纷解决", "调解"],
        "summary": "研究诉讼外纠纷解决机制，提出构建多元化纠纷解决体系的路径。",
        "copies": [
            {"barcode": "FG000100", "location": "棋盘井法庭", "shelf": "F-02", "acquired_on": "2007-04-26"},
        ],
    },
    {
        "isbn": "9787300227436",
        "title": "刑事诉讼的前沿问题",
        "contributors": [("陈瑞华", "author")],
        "publisher": "中国人民大学出版社",
        "year": 2016,
        "edition": "第五版",
        "clc": "D925.2",
        "call_number": "D925.2/C41",
        "subjects": ["刑事诉讼", "程序正义"],
        "summary": "围绕程序正义、非法证据排除与审判中心主义等前沿问题展开研究。",
        "copies": [
            {"barcode": "FG000101", "location": "院本部", "shelf": "B-07", "acquired_on": "2016-05-06"},
            {"barcode": "FG000102", "location": "院本部", "shelf": "B-07", "acquired_on": "2016-06-13"},
        ],
    },
    {
        "isbn": "9787301319253",
        "title": "刑事诉讼法",
        "contributors": [("陈光中", "editor")],
        "publisher": "北京大学出版社",
        "year": 2021,
        "edition": "第七版",
        "clc": "D925.2",
        "call_number": "D925.2/C41-2",
        "subjects": ["刑事诉讼法", "认罪认罚从宽"],
        "summary": "刑事诉讼法学通用教材，反映2018年刑事诉讼法修改与认罪认罚从宽制度。",
        "copies": [
            {"barcode": "FG000103", "location": "院本部", "shelf": "B-07", "acquired_on": "2021-07-20"},
            {"barcode": "FG000104", "location": "棋盘井法庭", "shelf": "F-02", "acquired_on": "2021-08-27"},
        ],
    },
    {
        "isbn": "9787511806338",
        "title": "上帝怎样审判",
        "contributors": [("龙宗智", "author")],
        "publisher": "法律出版社",
        "year": 2006,
        "edition": "增补本",
        "clc": "D925.04",
        "call_number": "D925.04/L77",
        "subjects": ["庭审", "法官思维"],
        "summary": "以随笔形式讨论审判方式、庭审驾驭与法官的职业伦理。",
        "copies": [
            {"barcode": "FG000105", "location": "院本部", "shelf": "B-07", "acquired_on": "2006-09-07"},
        ],
    },
    {
        "isbn": "9787510901126",
        "title": "中国特色社会主义司法制度论纲",
        "contributors": [("沈德咏", "editor")],
        "publisher": "人民法院出版社",
        "year": 2009,
        "clc": "D926",
        "call_number": "D926/S49",
        "subjects": ["司法制度", "司法改革"],
        "summary": "论述中国特色社会主义司法制度的理论基础、基本特征与改革方向。",
        "copies": [
            {"barcode": "FG000106", "location": "院本部", "shelf": "B-09", "acquired_on": "2009-10-14"},
        ],
    },
    {
        "isbn": "9787301189160",
        "title": "送法下乡",
        "subtitle": "中国基层司法制度研究",
        "contributors": [("苏力", "author")],
        "publisher": "北京大学出版社",
        "year": 2011,
        "edition": "修订版",
        "clc": "D926.2",
        "call_number": "D926.2/S88",
        "subjects": ["基层司法", "人民法庭"],
        "summary": "以田野调查为基础研究基层法院和人民法庭的运作逻辑。",
        "copies": [
            {"barcode": "FG000107", "location": "院本部", "shelf": "B-09", "acquired_on": "2011-11-21"},
            {"barcode": "FG000108", "location": "棋盘井法庭", "shelf": "F-03", "acquired_on": "2011-03-01"},
        ],
    },
    {
        "isbn": "9787510913365",
        "title": "最高人民法院关于完善人民法院司法责任制的若干意见读本",
        "contributors": [("最高人民法院司法改革领导小组办公室", "editor")],
        "publisher": "人民法院出版社",
        "year": 2015,
        "clc": "D926.2",
        "call_number": "D926.2/Z91",
        "subjects": ["司法责任制", "审判权运行"],
        "summary": "解读司法责任制改革文件，说明审判组织、审判权运行与责任追究。",
        "copies": [
            {"barcode": "FG000109", "location": "院本部", "shelf": "B-09", "acquired_on": "2015-04-08"},
        ],
    },
    {
        "isbn": "9787510243868",
        "title": "检察学",
        "contributors": [("朱孝清", "editor"), ("张智辉", "editor")],
        "publisher": "中国检察出版社",
        "year": 2010,
        "clc": "D926.3",
        "call_number": "D926.3/Z81",
        "subjects": ["检察制度", "法律监督"],
        "summary": "系统阐述检察制度的历史、检察权的性质与法律监督职能。",
        "copies": [
            {"barcode": "FG000110", "location": "院本部", "shelf": "B-09", "acquired_on": "2010-05-15"},
        ],
    },
    {
        "isbn": "9787204175635",
        "title": "内蒙古自治区地方性法规汇编（2018—2022）",
        "contributors": [("内蒙古自治区人大常委会法制工作委员会", "editor")],
        "publisher": "内蒙古人民出版社",
        "year": 2023,
        "clc": "D927.26",
        "call_number": "D927.26/N53",
        "subjects": ["地方性法规", "内蒙古"],
        "summary": "收录2018年至2022年内蒙古自治区人大及其常委会制定、修改的地方性法规。",
        "copies": [
            {"barcode": "FG000111", "location": "院本部", "shelf": "B-10", "acquired_on": "2023-06-22"},
            {"barcode": "FG000112", "location": "棋盘井法庭", "shelf": "F-03", "acquired_on": "2023-07-02"},
        ],
    },
    {
        "isbn": "9787204151028",
        "title": "内蒙古自治区草原管理条例释义",
        "contributors": [("内蒙古自治区人大常委会法制工作委员会", "editor")],
        "publisher": "内蒙古人民出版社",
        "year": 2022,
        "clc": "D927.26",
        "call_number": "D927.26/N53-2",
        "subjects": ["草原保护", "地方性法规", "内蒙古"],
        "summary": "逐条解读草原管理条例，涉及草原承包、基本草原保护与禁牧休牧制度。",
        "copies": [
            {"barcode": "FG000113", "location": "院本部", "shelf": "B-10", "acquired_on": "2022-08-09"},
            {"barcode": "FG000114", "location": "棋盘井法庭", "shelf": "F-03", "acquired_on": "2022-09-16"},
        ],
    },
    {
        "isbn": "9787301245361",
        "title": "国际法",
        "contributors": [("邵津", "editor")],
        "publisher": "北京大学出版社",
        "year": 2014,
        "edition": "第五版",
        "clc": "D99",
        "call_number": "D99/S32",
        "subjects": ["国际公法", "条约法"],
        "summary": "国际公法教材，论述国际法主体、领土、海洋法、条约与国际争端解决。",
        "copies": [
            {"barcode": "FG000115", "location": "院本部", "shelf": "C-01", "acquired_on": "2014-10-23"},
        ],
    },
    {
        "isbn": "9787301290125",
        "title": "国际私法",
        "contributors": [("李双元", "editor"), ("欧福永", "editor")],
        "publisher": "北京大学出版社",
        "year": 2018,
        "edition": "第五版",
        "clc": "D997",
        "call_number": "D997/L37",
        "subjects": ["国际私法", "冲突规范"],
        "summary": "阐述冲突法、国际民事诉讼与国际商事仲裁的基本制度。",
        "copies": [
            {"barcode": "FG000116", "location": "院本部", "shelf": "C-01", "acquired_on": "2018-11-03"},
        ],
    },
    {
        "isbn": "9787040517446",
        "title": "国际经济法学",
        "contributors": [("余劲松", "editor")],
        "publisher": "高等教育出版社",
        "year": 2019,
        "edition": "第二版",
        "clc": "D996",
        "call_number": "D996/Y79",
        "subjects": ["国际经济法", "国际贸易法"],
        "summary": "涵盖国际贸易、国际投资、国际金融与国际税法。",
        "copies": [
            {"barcode": "FG000117", "location": "院本部", "shelf": "C-01", "acquired_on": "2019-03-10"},
        ],
    },
    {
        "isbn": "9787511835185",
        "title": "德国民法总论",
        "contributors": [("迪特尔·梅迪库斯", "author"), ("邵建东", "translator")],
        "publisher": "法律出版社",
        "year": 2013,
        "edition": "第2版",
        "clc": "D951.63",
        "call_number": "D951.63/M37",
        "subjects": ["德国民法", "民法总论"],
        "summary": "德国民法总论的经典教科书，以请求权基础思维讲解法律行为与代理。",
        "copies": [
            {"barcode": "FG000118", "location": "院本部", "shelf": "C-02", "acquired_on": "2013-04-17"},
        ],
    },
    {
        "isbn": "9787509300619",
        "title": "德国民事诉讼法",
        "contributors": [("罗森贝克", "author"), ("施瓦布", "author"), ("戈特瓦尔德", "author"), ("李大雪", "translator")],
        "publisher": "中国法制出版社",
        "year": 2007,
        "clc": "D951.65",
        "call_number": "D951.65/L86",
        "subjects": ["德国民事诉讼", "比较民事诉讼"],
        "summary": "德国民事诉讼法的权威体系书，对诉讼标的、证明责任等理论有深远影响。",
        "copies": [
            {"barcode": "FG000119", "location": "院本部", "shelf": "C-02", "acquired_on": "2007-05-24"},
        ],
    },
    {
        "isbn": "9787511833204",
        "title": "法律的经济分析",
        "contributors": [("理查德·A.波斯纳", "author"), ("蒋兆康", "translator")],
        "publisher": "法律出版社",
        "year": 2012,
        "edition": "第七版",
        "clc": "D90-059",
        "call_number": "D90-059/B71",
        "subjects": ["法律经济学"],
        "summary": "运用经济学方法分析财产、合同、侵权、刑法与程序法的法律经济学经典。",
        "copies": [
            {"barcode": "FG000120", "location": "院本部", "shelf": "A-01", "acquired_on": "2012-06-04"},
        ],
    },
    {
        "isbn": "9780199644704",
        "title": "The Concept of Law",
        "contributors": [("H.L.A. Hart", "author"), ("Penelope A. Bulloch", "editor"), ("Joseph Raz", "editor")],
        "publisher": "Oxford University Press",
        "year": 2012,
        "edition": "3rd ed.",
        "language": "en",
        "clc": "D90",
        "call_number": "D90/H33-E",
        "subjects": ["Legal positivism", "Jurisprudence"],
        "summary": "哈特《法律的概念》英文原版第三版，附莱斯利·格林撰写的导言与注释。",
        "copies": [
            {"barcode": "FG000121", "location": "院本部", "shelf": "C-03", "acquired_on": "2012-07-11"},
        ],
    },
    {
        "isbn": "9780674518360",
        "title": "Law's Empire",
        "contributors": [("Ronald Dworkin", "author")],
        "publisher": "Harvard University Press",
        "year": 1986,
        "language": "en",
        "clc": "D90",
        "call_number": "D90/D93-E",
        "subjects": ["Legal interpretation", "Jurisprudence"],
        "summary": "德沃金以“作为整体的法”理论回应法律实证主义，论证法律解释的建构性。",
        "copies": [
            {"barcode": "FG000122", "location": "院本部", "shelf": "C-03", "acquired_on": "2016-08-18"},
        ],
    },
    {
        "isbn": "9781454833888",
        "title": "Economic Analysis of Law",
        "contributors": [("Richard A. Posner", "author")],
        "publisher": "Wolters Kluwer",
        "year": 2014,
        "edition": "9th ed.",
        "language": "en",
        "clc": "D90-059",
        "call_number": "D90-059/B71-E",
        "subjects": ["Law and economics"],
        "summary": "波斯纳《法律的经济分析》英文原版第九版。",
        "copies": [
            {"barcode": "FG000123", "location": "院本部", "shelf": "C-03", "acquired_on": "2014-09-25"},
        ],
    },
    {
        "isbn": "9780198810186",
        "title": "The Oxford Handbook of Comparative Law",
        "contributors": [("Mathias Reimann", "editor"), ("Reinhard Zimmermann", "editor")],
        "publisher": "Oxford University Press",
        "year": 2019,
        "edition": "2nd ed.",
        "language": "en",
        "clc": "D908",
        "call_number": "D908/R36-E",
        "subjects": ["Comparative law"],
        "summary": "比较法领域的综合性手册，收录各法系、各部门法比较研究的专题论文。",
        "copies": [
            {"barcode": "FG000124", "location": "院本部", "shelf": "C-03", "acquired_on": "2019-10-05"},
        ],
    },
    {
        "isbn": "9787519776022",
        "title": "The Civil Code of the People's Republic of China",
        "contributors": [("全国人大常委会法制工作委员会", "editor")],
        "publisher": "法律出版社",
        "year": 2021,
        "language": "en",
        "clc": "D923",
        "call_number": "D923/Q12-E",
        "subjects": ["Civil code", "Chinese law"],
        "summary": "中华人民共和国民法典英文译本，便于涉外民商事案件中查阅条文。",
        "copies": [
            {"barcode": "FG000125", "location": "院本部", "shelf": "C-03", "acquired_on": "2021-11-12"},
        ],
    },
    {
        "isbn": "9787105159321",
        "title": "ᠪᠦᠭᠦᠳᠡ ᠨᠠᠶᠢᠷᠠᠮᠳᠠᠬᠤ ᠳᠤᠮᠳᠠᠳᠤ ᠠᠷᠠᠳ ᠤᠯᠤᠰ\u202fᠤᠨ ᠢᠷᠭᠡᠨ\u202fᠦ ᠬᠠᠤᠯᠢ\u202fᠶᠢᠨ ᠳᠡᠪᠲᠡᠷ",
        "subtitle": "中华人民共和国民法典（蒙古文版）",
        "contributors": [("全国人大常委会法制工作委员会", "editor")],
        "publisher": "民族出版社",
        "year": 2020,
        "language": "mn",
        "clc": "D923",
        "call_number": "D923/Q12-M",
        "subjects": ["民法典", "蒙古文"],
        "summary": "民法典的蒙古文译本，供蒙汉双语审判和普法宣传使用。",
        "copies": [
            {"barcode": "FG000126", "location": "院本部", "shelf": "C-05", "acquired_on": "2020-03-19"},
            {"barcode": "FG000127", "location": "棋盘井法庭", "shelf": "F-01", "acquired_on": "2020-04-26"},
            {"barcode": "FG000128", "location": "院本部", "shelf": "C-05", "acquired_on": "2020-05-06"},
        ],
    },
    {
        "isbn": "9787105154784",
        "title": "ᠪᠦᠭᠦᠳᠡ ᠨᠠᠶᠢᠷᠠᠮᠳᠠᠬᠤ ᠳᠤᠮᠳᠠᠳᠤ ᠠᠷᠠᠳ ᠤᠯᠤᠰ\u202fᠤᠨ ᠢᠷᠭᠡᠨ\u202fᠦ ᠬᠡᠷᠡᠭ\u202fᠦᠨ ᠵᠠᠷᠭᠤ\u202fᠶᠢᠨ ᠬᠠᠤᠯᠢ",
        "subtitle": "中华人民共和国民事诉讼法（蒙古文版）",
        "contributors": [("全国人大常委会法制工作委员会", "editor")],
        "publisher": "民族出版社",
        "year": 2018,
        "language": "mn",
        "clc": "D925.1",
        "call_number": "D925.1/Q12-M",
        "subjects": ["民事诉讼法", "蒙古文"],
        "summary": "民事诉讼法的蒙古文译本。",
        "copies": [
            {"barcode": "FG000129", "location": "院本部", "shelf": "C-05", "acquired_on": "2018-06-13"},
            {"barcode": "FG000130", "location": "棋盘井法庭", "shelf": "F-02", "acquired_on": "2018-07-20"},
        ],
    },
    {
        "isbn": "9787204146338",
        "title": "ᠬᠢᠲᠠᠳ ᠮᠣᠩᠭᠣᠯ ᠬᠠᠤᠯᠢ ᠵᠦᠢ\u202fᠶᠢᠨ ᠲᠣᠯᠢ",
        "subtitle": "汉蒙法律词典",
        "contributors": [("内蒙古自治区高级人民法院", "editor")],
        "publisher": "内蒙古人民出版社",
        "year": 2019,
        "language": "mn",
        "clc": "D9-61",
        "call_number": "D9-61/N53",
        "subjects": ["法律术语", "蒙古文", "双语审判"],
        "summary": "收录常用法律术语的汉蒙对照与释义，是双语法官制作裁判文书的工具书。",
        "copies": [
            {"barcode": "FG000131", "location": "院本部", "shelf": "C-05", "acquired_on": "2019-08-27"},
            {"barcode": "FG000132", "location": "棋盘井法庭", "shelf": "F-04", "acquired_on": "2019-09-07"},
        ],
    },
    {
        "isbn": "9787204160211",
        "title": "ᠮᠣᠩᠭᠣᠯ ᠬᠡᠯᠡ\u202fᠪᠡᠷ ᠱᠢᠭᠦᠨ ᠲᠠᠰᠤᠯᠬᠤ ᠠᠵᠢᠯ\u202fᠤᠨ ᠭᠠᠷ ᠳᠡᠪᠲᠡᠷ",
        "subtitle": "蒙古语审判工作手册",
        "contributors": [("鄂尔多斯市中级人民法院", "editor")],
        "publisher": "内蒙古人民出版社",
        "year": 2021,
        "language": "mn",
        "clc": "D926.2",
        "call_number": "D926.2/E69-M",
        "subjects": ["双语审判", "蒙古文", "庭审规范"],
        "summary": "介绍蒙古语文审理案件的庭审用语、文书格式与翻译规范。",
        "copies": [
            {"barcode": "FG000133", "location": "院本部", "shelf": "C-05", "acquired_on": "2021-10-14"},
            {"barcode": "FG000134", "location": "棋盘井法庭", "shelf": "F-03", "acquired_on": "2021-11-21"},
        ],
    },
    {
        "isbn": None,
        "title": "中华人民共和国法规汇编（1985年1月—12月）",
        "contributors": [("国务院法制局", "editor")],
        "publisher": "法律出版社",
        "year": 1986,
        "clc": "D920.9",
        "call_number": "D920.9/G94",
        "subjects": ["法规汇编"],
        "summary": "收录1985年全国人大及其常委会通过的法律和国务院发布的行政法规。",
        "copies": [
            {"barcode": "FG000135", "location": "院本部", "shelf": "A-04", "acquired_on": "1987-03-01", "status": "repair", "note": "书页脱落，待修补"},
        ],
    },
    {
        "isbn": None,
        "title": "内蒙古自治区法规汇编（1979—1984）",
        "contributors": [("内蒙古自治区人大常委会办公厅", "editor")],
        "publisher": "内蒙古人民出版社",
        "year": 1985,
        "clc": "D927.26",
        "call_number": "D927.26/N53-1985",
        "subjects": ["地方性法规", "内蒙古"],
        "summary": "收录1979年至1984年内蒙古自治区制定的地方性法规和单行条例。",
        "copies": [
            {"barcode": "FG000136", "location": "院本部", "shelf": "B-10", "acquired_on": "1986-04-08"},
        ],
    },
]

#: The court's research papers, matched by title.  ``full_text``, when
#: present, is attached as a plain-text file.
PAPERS: list[dict] = [
    {
        "title": "关于担保物权实现程序问题的研究",
        "authors": ["张明", "刘建军", "乌云其木格"],
        "abstract": (
            "2012年修改的民事诉讼法在特别程序中增设“实现担保物权案件”，使担保物权人可以不经诉讼直接申请拍卖、变卖担保财产。"
            "本课题以本院近五年受理的实现担保物权案件为样本，分析该非讼程序在申请主体、管辖、审查标准与实质争议处理等方面的问题，"
            "提出区分形式审查与实质审查、明确“部分裁定准许”规则、与执行程序顺畅衔接等完善建议。"
        ),
        "keywords": ["担保物权", "实现程序", "非讼程序", "特别程序", "民事诉讼法"],
        "year": 2019,
        "kind": "research_project",
        "awards": "2019年度自治区高院优秀调研课题一等奖",
        "venue": "",
        "visibility": "public",
        "full_text": (
            "关于担保物权实现程序问题的研究\n\n"
            "一、问题的提出\n"
            "民事诉讼法第十五章第七节规定了实现担保物权案件的特别程序。担保物权人以及其他有权请求实现担保物权的人，"
            "可以向担保财产所在地或者担保物权登记地基层人民法院提出申请。这一程序属于非讼程序，其目的在于降低担保物权的实现成本，"
            "使债权人无需经过冗长的普通诉讼程序即可取得执行依据。\n\n"
            "二、本院审理实现担保物权案件的基本情况\n"
            "2015年至2019年，本院共受理实现担保物权案件一百余件，担保财产以房屋、车辆和采矿设备为主，申请人多为金融机构。"
            "其中裁定准许拍卖、变卖的占七成以上，其余案件因被申请人提出实质异议而裁定驳回，申请人转而提起诉讼。\n\n"
            "三、实践中存在的主要问题\n"
            "（一）审查标准不统一。部分合议庭对主合同效力、债权数额进行全面审查，使非讼程序诉讼化；也有的仅作形式审查，"
            "导致被申请人的实体抗辩无处主张。（二）“实质争议”的认定缺乏标准，被申请人只要提出异议即驳回申请的做法，"
            "使程序功能落空。（三）裁定与执行衔接不畅，准许裁定对担保财产的范围、优先受偿的数额表述不清，给执行带来困难。\n\n"
            "四、完善建议\n"
            "一是坚持以形式审查为主、必要时进行有限的实质审查，对无争议部分先行裁定准许；二是细化实质争议的识别标准，"
            "被申请人仅对利息、违约金数额有异议的，不影响对本金部分的准许；三是在准许裁定中写明担保财产、被担保债权范围及受偿顺位，"
            "并建立立案、审判与执行部门的信息共享机制。\n"
        ),
    },
    {
        # Cites articles of the Civil Code in the forms judges write them, so the demo shows the citation search
        # (民法典第394条, 《民法典》394条 …: docs/search.md, "Article citations") with its highlight and facet.
        "title": "流押条款的效力与抵押权的实现——以民法典第四百零一条为中心",
        "authors": ["刘建军", "陈晓燕"],
        "abstract": (
            "《民法典》第三百九十四条规定，债务人不履行到期债务的，抵押权人有权就抵押财产优先受偿；"
            "第四百零一条将约定抵押财产归债权人所有的流押条款改为“只能依法就抵押财产优先受偿”。"
            "本文梳理本院近三年涉流押条款的抵押合同纠纷，讨论流押条款的效力、抵押权人依第四百一十条实现抵押权的途径，"
            "以及与实现担保物权特别程序的衔接。"
        ),
        "keywords": ["流押条款", "抵押权", "担保物权", "民法典"],
        "year": 2022,
        "kind": "article",
        "awards": "",
        "venue": "《内蒙古审判》",
        "visibility": "public",
        "full_text": (
            "流押条款的效力与抵押权的实现\n\n"
            "一、问题的提出\n"
            "《中华人民共和国民法典》第三百九十四条第一款规定：为担保债务的履行，债务人或者第三人不转移财产的占有，"
            "将该财产抵押给债权人的，债务人不履行到期债务或者发生当事人约定的实现抵押权的情形，债权人有权就该财产优先受偿。"
            "原物权法第一百八十六条禁止流押，民法典第四百零一条则规定，抵押权人在债务履行期限届满前，与抵押人约定债务人不履行到期债务时"
            "抵押财产归债权人所有的，只能依法就抵押财产优先受偿。\n\n"
            "二、流押条款的效力\n"
            "流押条款并不导致抵押合同无效，抵押权人不能据此直接取得抵押财产的所有权，但抵押权本身不受影响，"
            "抵押权人仍可以依照民法典第四百一十条的规定，与抵押人协议以抵押财产折价，或者以拍卖、变卖所得价款优先受偿。\n\n"
            "三、与实现担保物权特别程序的衔接\n"
            "协议不成的，抵押权人可以请求人民法院拍卖、变卖抵押财产。审查中，法院应当审查抵押权是否有效设立、"
            "主债权是否届期，流押条款的存在不构成驳回申请的理由。\n"
        ),
    },
    {
        "title": "基层法院破解“执行难”的实践路径——以鄂尔多斯地区为样本",
        "authors": ["高志强", "杨永平"],
        "abstract": (
            "通过对本院执行案件的统计分析，总结网络查控、失信惩戒与跨部门协作在破解执行难中的作用，"
            "并针对矿区企业资产难以处置、被执行人下落不明等问题提出对策。"
        ),
        "keywords": ["执行难", "网络查控", "失信被执行人", "执行联动"],
        "year": 2018,
        "kind": "article",
        "awards": "全区法院“基本解决执行难”征文二等奖",
        "venue": "《人民司法》",
        "visibility": "public",
        "full_text": (
            "基层法院破解“执行难”的实践路径\n\n"
            "执行难是长期困扰人民法院的突出问题。本院辖区以煤炭、化工企业为主，执行案件中涉企案件占比较高，"
            "被执行财产多为采矿设备、土地使用权和应收账款，处置周期长、变现难度大。\n\n"
            "近年来，本院依托最高人民法院“总对总”网络执行查控系统，实现对被执行人存款、车辆、不动产等主要财产的集中查控；"
            "同时与公安、自然资源、市场监管等部门建立执行联动机制，对拒不履行的被执行人依法纳入失信名单并实施联合惩戒。\n\n"
            "针对矿区企业资产的处置，本院探索“活封”方式，在不影响企业正常生产的前提下查封设备，以生产收益分期清偿债务，"
            "兼顾了债权实现与企业存续。对下落不明的被执行人，则通过悬赏公告与司法拘留相结合的方式督促其到案履行。\n"
        ),
    },
    {
        "title": "牧区多元化纠纷解决机制的构建与完善",
        "authors": ["巴特尔", "斯琴图雅"],
        "abstract": (
            "牧区地广人稀，纠纷多涉及草场边界、牲畜损害与家庭财产。本课题调查嘎查调解、人民调解与法院诉讼之间的衔接情况，"
            "提出发挥“乌兰牧骑式”巡回审判与嘎查长、老党员等本土力量作用的多元化纠纷解决方案。"
        ),
        "keywords": ["多元化纠纷解决机制", "牧区", "人民调解", "巡回审判"],
        "year": 2020,
        "kind": "research_project",
        "awards": "2020年度鄂尔多斯市中级人民法院优秀调研课题",
        "venue": "",
        "visibility": "internal",
    },
    {
        "title": "诉调对接工作机制的运行困境与优化路径",
        "authors": ["陈晓燕"],
        "abstract": (
            "分析诉前调解、委派调解与司法确认在基层法院的运行情况，指出调解组织专业性不足、司法确认审查流于形式等问题，"
            "建议完善特邀调解员名册管理与在线诉调对接平台。"
        ),
        "keywords": ["诉调对接", "诉前调解", "司法确认", "特邀调解"],
        "year": 2021,
        "kind": "article",
        "awards": "",
        "venue": "《内蒙古审判》",
        "visibility": "public",
    },
    {
        "title": "民族地区蒙汉双语审判工作的现状与对策",
        "authors": ["乌云其木格", "额尔敦", "张明"],
        "abstract": (
            "调查本院及棋盘井法庭使用蒙古语文审理案件的情况，分析双语法官数量不足、蒙古文裁判文书制作规范不统一、"
            "法律术语翻译不一致等问题，提出加强双语法官培养、编制汉蒙法律术语规范与双语文书模板的建议。"
        ),
        "keywords": ["双语审判", "蒙古语文", "民族地区", "诉讼权利保障"],
        "year": 2022,
        "kind": "research_project",
        "awards": "全区法院优秀调研成果二等奖",
        "venue": "",
        "visibility": "internal",
        "full_text": (
            "民族地区蒙汉双语审判工作的现状与对策\n\n"
            "一、使用本民族语言文字进行诉讼是宪法和三大诉讼法规定的公民基本权利。本院辖区蒙古族群众较多，"
            "特别是棋盘井法庭所辖牧区，部分当事人只通晓蒙古语，双语审判是保障其诉讼权利的重要方式。\n\n"
            "二、现状。目前本院具备蒙汉双语审判能力的员额法官较少，且集中在民事审判庭和棋盘井法庭。"
            "蒙古语文审理的案件以婚姻家庭、草原承包和民间借贷纠纷为主，裁判文书多需同时制作蒙、汉两种文本。\n\n"
            "三、问题。一是双语法官和书记员数量不足，年龄结构偏大；二是法律术语的蒙古文译法不统一，"
            "同一术语在不同文书中译法不同；三是庭审翻译依赖临时聘请人员，质量难以保证。\n\n"
            "四、对策。建议与自治区高级人民法院共同编制汉蒙法律术语规范，推行双语裁判文书模板；"
            "通过“老带新”和专项培训培养年轻双语法官；在诉讼服务中心配备蒙古语导诉人员，并开发双语电子诉讼服务。\n"
        ),
    },
    {
        "title": "草原生态环境司法保护的实证研究",
        "authors": ["斯琴图雅", "刘建军"],
        "abstract": (
            "以非法占用农用地罪、非法采矿罪及草原生态环境损害赔偿案件为样本，研究草原生态环境刑事、民事、行政“三合一”审判模式"
            "与恢复性司法措施（补植复绿、异地修复）的适用效果。"
        ),
        "keywords": ["草原生态", "环境资源审判", "恢复性司法", "三合一"],
        "year": 2021,
        "kind": "research_project",
        "awards": "自治区高院优秀调研课题",
        "venue": "",
        "visibility": "public",
        "full_text": (
            "草原生态环境司法保护的实证研究\n\n"
            "草原是北方重要的生态屏障。本院辖区草原面积广阔，同时分布着煤炭、石灰岩等矿产资源，"
            "非法开垦、非法采矿和违规堆放固体废物对草原生态造成较大破坏。\n\n"
            "本课题梳理了本院2017年以来审结的涉草原生态环境案件，发现此类案件呈现刑民交叉、损害鉴定难、修复周期长的特点。"
            "实行环境资源案件刑事、民事、行政“三合一”归口审理后，裁判尺度更趋统一。\n\n"
            "在裁判方式上，本院在判处刑罚的同时，责令被告人补植复绿、缴纳生态修复费用，并邀请林草部门对修复效果进行验收，"
            "取得了较好的社会效果。建议进一步完善生态修复基金管理与修复效果评估机制。\n"
        ),
    },
    {
        "title": "煤炭资源开采合同纠纷审理中的疑难问题——以棋盘井地区为例",
        "authors": ["王海军"],
        "abstract": (
            "结合棋盘井法庭审理的采矿权转让、委托开采及煤矿承包经营合同纠纷，分析未经审批的采矿权转让合同效力、"
            "以承包为名的采矿权变相转让等问题的裁判思路。"
        ),
        "keywords": ["矿产资源纠纷", "采矿权转让", "合同效力", "棋盘井"],
        "year": 2017,
        "kind": "case_study",
        "awards": "",
        "venue": "《内蒙古审判》",
        "visibility": "public",
    },
    {
        "title": "农村土地承包经营权流转纠纷的审理思路",
        "authors": ["杨永平", "巴特尔"],
        "abstract": (
            "围绕“三权分置”后的土地经营权流转，讨论流转合同效力、发包方同意与备案的性质、草原承包经营权流转的特殊规则，"
            "并对外嫁女等集体经济组织成员资格认定问题提出审理意见。"
        ),
        "keywords": ["农村土地承包经营权", "土地经营权", "三权分置", "草原承包"],
        "year": 2019,
        "kind": "article",
        "awards": "",
        "venue": "《人民法院报》",
        "visibility": "public",
    },
    {
        "title": "家事审判方式和工作机制改革的基层探索",
        "authors": ["陈晓燕", "王芳"],
        "abstract": (
            "总结本院家事审判改革试点经验，包括家事调查员、心理疏导、离婚冷静期与未成年子女利益最大化原则的适用，"
            "分析改革中存在的人员保障和配套机制问题。"
        ),
        "keywords": ["家事审判改革", "家事调查", "未成年人保护", "离婚纠纷"],
        "year": 2023,
        "kind": "research_project",
        "awards": "",
        "venue": "",
        "visibility": "internal",
    },
    {
        "title": "人民法庭参与基层社会治理的路径——以棋盘井法庭为例",
        "authors": ["额尔敦", "高志强"],
        "abstract": (
            "以棋盘井法庭为样本，分析人民法庭通过巡回审判、法官联系点、诉源治理与矿区企业普法等方式参与基层社会治理的实践，"
            "提出人民法庭“枫桥式”建设的完善建议。"
        ),
        "keywords": ["人民法庭", "基层治理", "诉源治理", "枫桥经验"],
        "year": 2024,
        "kind": "article",
        "awards": "第三十五届全国法院学术讨论会优秀奖",
        "venue": "全国法院第三十五届学术讨论会",
        "visibility": "public",
        "full_text": (
            "人民法庭参与基层社会治理的路径——以棋盘井法庭为例\n\n"
            "人民法庭是人民法院服务基层、联系群众的“最后一公里”。棋盘井法庭地处工业园区与牧区交汇地带，"
            "辖区内既有大型煤化工企业，也有分散居住的农牧民，纠纷类型多样。\n\n"
            "法庭通过在嘎查村设立法官联系点、在工业园区设立巡回审判点，把调解和普法送到群众身边。"
            "对劳务报酬、运输合同等类型化纠纷，法庭与园区管委会、人民调解委员会建立诉前化解机制，"
            "多数纠纷在诉前得到解决，进入诉讼的案件数量逐年下降。\n\n"
            "实践表明，人民法庭参与基层治理应坚持依法履职、不越位，把重点放在诉源治理和司法建议上，"
            "通过发送司法建议推动企业规范用工、促进嘎查村务公开，从源头上减少纠纷。\n"
        ),
    },
    {
        "title": "草原承包经营权确认纠纷中集体经济组织成员资格的认定——某牧民诉某嘎查村民委员会案评析",
        "authors": ["巴特尔"],
        "abstract": (
            "评析一起草原承包经营权确认纠纷，讨论户籍、生产生活基础与长期居住等因素在集体经济组织成员资格认定中的权重，"
            "以及此类纠纷的受案范围。"
        ),
        "keywords": ["草原承包经营权", "集体经济组织成员资格", "裁判文书评析"],
        "year": 2022,
        "kind": "judgment_commentary",
        "awards": "",
        "venue": "《内蒙古审判》",
        "visibility": "internal",
    },
    {
        "title": "房屋买受人排除强制执行的条件——某案外人执行异议之诉案评析",
        "authors": ["刘建军"],
        "abstract": (
            "结合执行异议和复议规定第二十八条、第二十九条，评析无过错不动产买受人与商品房消费者排除金钱债权执行的要件认定。"
        ),
        "keywords": ["执行异议之诉", "不动产买受人", "物权期待权"],
        "year": 2020,
        "kind": "judgment_commentary",
        "awards": "全区法院优秀裁判文书评析三等奖",
        "venue": "",
        "visibility": "public",
    },
    {
        "title": "民间借贷纠纷中虚假诉讼的识别与规制",
        "authors": ["王海军", "陈晓燕"],
        "abstract": (
            "通过分析本院查处的几起虚假民间借贷诉讼，总结资金流向异常、当事人关系密切、诉讼中自认过于一致等识别标志，"
            "并提出强化依职权调查与刑民衔接的规制措施。"
        ),
        "keywords": ["民间借贷", "虚假诉讼", "刑民交叉"],
        "year": 2021,
        "kind": "case_study",
        "awards": "",
        "venue": "",
        "visibility": "internal",
    },
    {
        "title": "小额诉讼程序适用情况的调查与思考",
        "authors": ["高志强"],
        "abstract": (
            "统计分析2022年民事诉讼法修改后本院适用小额诉讼程序的案件，讨论当事人合意适用、一审终审的程序保障及与简易程序的转换。"
        ),
        "keywords": ["小额诉讼程序", "繁简分流", "民事诉讼法"],
        "year": 2023,
        "kind": "research_project",
        "awards": "",
        "venue": "",
        "visibility": "internal",
    },
]


# --------------------------------------------------------------------------------------------------------
# Events (loaded by load_demo through events.services; dates are relative to the day of loading)
# --------------------------------------------------------------------------------------------------------

VENUES = (
    {"name": "法官书苑阅览室", "location": "院本部三楼", "capacity": 24},
    {"name": "第三审判庭", "location": "院本部二楼", "capacity": 80},
    {"name": "棋盘井法庭会议室", "location": "棋盘井法庭", "capacity": 16},
)

#: ``start`` is "first_friday" (of this month, or next month when it has passed), or a day offset from today
#: with a time.  ``cancel``/``move`` name the occurrence by its index in the series.
EVENTS = (
    {
        "title": "法官茶座",
        "kind": "tea_talk",
        "description": "每月第一个星期五下午，法官们围坐一堂，聊一聊审判中的难题与读书心得。",
        "start": "first_friday",
        "time": "15:00",
        "minutes": 90,
        "venue": "法官书苑阅览室",
        "capacity": 12,
        "rrule": "FREQ=MONTHLY;BYDAY=1FR;COUNT=12",
        "speakers": [("张明", "主持人")],
        "move": {"index": 1, "days": 7, "title": "法官茶座（改期）"},
        "cancel": {"index": 2, "reason": "阅览室另有安排"},
    },
    {
        "title": "周三读书会",
        "kind": "reading",
        "description": "每周三晚上共读一本法学经典，本期共读《民法物权》。",
        "start": "next_wednesday",
        "time": "19:00",
        "minutes": 90,
        "venue": "棋盘井法庭会议室",
        "rrule": "FREQ=WEEKLY;BYDAY=WE",
        "books": ["民法物权"],
    },
    {
        "title": "读者沙龙：民法典与基层审判",
        "kind": "salon",
        "description": "围绕民法典各编的理解与适用，交流基层审判中的新问题。",
        "start": 12,
        "time": "14:30",
        "minutes": 120,
        "venue": "法官书苑阅览室",
        "books": ["中华人民共和国民法典物权编理解与适用", "中华人民共和国民法典合同编理解与适用"],
        "speakers": [("巴特尔", "主讲人"), ("李娜", "主持人")],
    },
    {
        "title": "法学研讨会：担保物权实现程序的司法适用",
        "kind": "seminar",
        "description": "以本院调研课题《关于担保物权实现程序问题的研究》为基础，研讨非讼程序中的担保物权实现。",
        "start": 30,
        "time": "09:00",
        "minutes": 180,
        "venue": "第三审判庭",
        "capacity": 60,
        "books": ["担保物权研究", "担保法论"],
        "papers": ["关于担保物权实现程序问题的研究"],
        "speakers": [("张明", "主讲人")],
    },
)

#: Sessions already held, so that the events reports (registrations and check-ins, waitlist, divisions, reading
#: lists) and the annual summary have something to show: each written once (matched by title) with its
#: registrations and check-ins, at times relative to the day the demo is loaded.  ``ago``: days before today of
#: the (first) session; ``registrations``: (user, days before the first session, session index or None for the
#: whole series); ``cancel``: users whose registration is cancelled (a waitlisted one moves up); ``check_ins``:
#: per session the users checked in, a "+" before a name for a walk-in.
PAST_EVENTS = (
    {
        "title": "读者沙龙：担保制度司法解释",
        "kind": "salon",
        "description": "围绕《最高人民法院关于适用〈中华人民共和国民法典〉有关担保制度的解释》交流审判中的新问题。",
        "ago": 52, "time": "14:30", "minutes": 120, "venue": "法官书苑阅览室", "capacity": 3,
        "books": ["担保物权研究", "中华人民共和国民法典物权编理解与适用"],
        "registrations": [("judge", 8, None), ("judge2", 8, None), ("reader_chen", 7, None), ("reader_liu", 6, None),
                          ("reader_wu", 5, None)],
        "cancel": ["judge2"],  # reader_liu moves up from the waitlist; reader_wu still waits
        "check_ins": [["judge", "reader_chen", "reader_liu"]],
    },
    {
        "title": "法官茶座（秋季）",
        "kind": "tea_talk",
        "description": "每四周一次，法官们交流审判中的难题与读书心得。",
        "ago": 84, "time": "15:00", "minutes": 60, "venue": "法官书苑阅览室", "capacity": 12,
        "rrule": "FREQ=WEEKLY;INTERVAL=4;COUNT=3",
        "registrations": [("judge", 10, None), ("reader_wu", 9, None), ("reader_zhou", 3, 1)],
        "check_ins": [["judge", "reader_wu"], ["judge", "reader_zhou"], ["judge", "+manager"]],
    },
    {
        "title": "法学研讨会：执行异议之诉",
        "kind": "seminar",
        "description": "结合本院案例，研讨案外人执行异议之诉的审理要点。",
        "ago": 17, "time": "09:00", "minutes": 180, "venue": "第三审判庭",
        "books": ["最高人民法院关于人民法院办理执行异议和复议案件若干问题规定理解与适用"],
        "registrations": [("judge", 10, None), ("judge2", 9, None), ("reader_chen", 9, None), ("reader_liu", 8, None),
                          ("reader_zhou", 7, None), ("reader_wu", 6, None), ("manager", 5, None)],
        "check_ins": [["judge", "judge2", "reader_chen", "reader_zhou", "manager"]],
    },
)

#: Other libraries' SRU servers for copy cataloguing, disabled until a librarian checks them: the Library of
#: Congress's public SRU base, and a placeholder for the city library's (its real address is the branch's to fill in).
SRU_TARGETS: tuple[dict, ...] = (
    {"name": "美国国会图书馆（LC）", "base_url": "http://lx2.loc.gov:210/LCDB", "version": "1.1",
     "record_schema": "marcxml", "isbn_index": "bath.isbn", "title_index": "dc.title", "author_index": "dc.creator",
     "enabled": False, "position": 1},
    {"name": "市图书馆（示例地址，请改为实际地址）", "base_url": "http://opac.example.org/sru", "version": "1.2",
     "record_schema": "cnmarcxml", "isbn_index": "bath.isbn", "title_index": "dc.title", "author_index": "dc.creator",
     "enabled": False, "position": 0},
)
