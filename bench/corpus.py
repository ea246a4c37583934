"""A deterministic synthetic catalog of a Chinese court library, and the queries to run on it.

Nothing here imports Django: records come out as plain dicts, queries as ``(category, text)`` pairs,
both fixed by the seed (``random.Random``), so two runs with the same arguments search the same corpus.

Vocabulary: the legal terms of ``search_index/data/legal_dict.txt`` plus the ~300 common words and
phrases below, drawn with Zipf-like weights (a few words are very frequent, most are rare), joined
with a few function words into sentences.  95 % of the records are books (title, subtitle, authors,
publisher, subjects, a short summary, CLC class, 1–3 copies), 5 % are research papers with an abstract,
keywords and about 5,000 characters of full text.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from itertools import accumulate
from pathlib import Path

LEGAL_DICT = Path(__file__).resolve().parent.parent / "search_index" / "data" / "legal_dict.txt"

# ~300 common words and phrases of Chinese legal and general writing (content words only).
COMMON_WORDS = """
法律 法院 审判 合同 纠纷 案件 当事人 原告 被告 判决 裁定 研究 问题 制度 实践 理论 分析 改革 完善 路径
视角 探析 适用 规则 程序 权利 义务 责任 保护 社会 经济 发展 国家 政府 企业 公司 市场 金融 网络 数据
信息 技术 环境 生态 资源 土地 房屋 建设 工程 劳动 就业 工资 保险 医疗 教育 家庭 婚姻 子女 父母 老年人
未成年人 妇女 农村 城市 农民 牧区 草原 民族 语言 文化 历史 传统 现代 中国 内蒙古 地方 基层 司法 执法
立法 法治 法学 法官 检察官 律师 证人 鉴定 证据 事实 认定 标准 原则 价值 功能 效力 效果 影响 因素 困境
对策 建议 思考 评析 比较 借鉴 经验 模式 机制 体系 结构 框架 方法 方式 途径 目标 作用 意义 范围 条件
要件 构成 界定 区分 观点 争议 分歧 挑战 趋势 现状 调查 报告 统计 实证研究 案例 判例 条款 规定 法规
规章 政策 意见 解释 批复 决定 申请 审查 审理 受理 立案 起诉 上诉 抗诉 申诉 答辩 质证 辩论 调解 和解
仲裁 执行 送达 期限 时效 赔偿 补偿 损失 损害 侵害 违法 犯罪 刑罚 罪名 量刑 有期徒刑 罚金 没收 财产
资金 借款 贷款 利息 债务 债权 担保 抵押 质押 保证 买卖 租赁 承揽 运输 委托 代理 合伙 股东 股权 董事
法人 自然人 组织 机关 单位 行政机关 公安机关 检察院 监狱 交通事故 医疗纠纷 物业服务 房地产 商品房 征收
补偿款 环境污染 食品安全 消费者 产品质量 电子商务 互联网 平台 人工智能 大数据 区块链 数字经济 网络安全
名誉权 肖像权 隐私权 生命权 健康权 抚养 赡养 离婚 结婚 收养 遗产 遗嘱 继承人 共有 所有权 占有 登记 交付
转让 变更 解除 终止 撤销 无效 生效 履行 违约 抗辩 抵销 提存 免除 劳动争议 劳动合同 工伤 社会保险 矿产
煤炭 能源 水资源 林地 牲畜 放牧 承包 流转 集体经济组织 村民委员会 乡镇 旗县 盟市 自治区 边疆 少数民族
蒙古族 双语 翻译 民俗 习惯 调研 课题 成果 论文 学术 讨论会 培训 队伍建设 职业保障 廉政 作风 监督 考核
绩效 效率 公正 公平 正义 权威 公信力 透明 公开 信息化 电子送达 庭审 网上立案 审限 结案率 上诉率 发改率
"""

# Function words: they fill the sentences of summaries and full texts but never appear in queries.
FUNCTION_WORDS = "的 了 和 与 在 是 对 中 及 其 为 以 由 将 被 应当 可以 不得 依法 根据 关于 对于 通过 进行 予以 已经 同时 但是 因此 并且".split()

ENGLISH_WORDS = """
law court contract tort evidence judgment judicial reform property rights civil criminal procedure
administrative liability damages enforcement mediation arbitration litigation dispute resolution family
marriage inheritance succession security mortgage guarantee company corporate bankruptcy intellectual
copyright patent trademark competition antitrust environmental protection privacy data personal
information comparative chinese china theory practice study analysis system principles cases commentary
introduction handbook modern international trade investment finance banking labor employment
constitution constitutional human justice judge trial appeal rules governance mongolian grassland rural
land sentencing punishment crime police prosecution legal reasoning interpretation statute code
""".split()

ENGLISH_SURNAMES = "Smith Johnson Brown Miller Davis Wilson Clarke Turner Hughes Wright Cohen Fischer Weber Tanaka Sato Chen Li Wang Zhang Liu".split()
ENGLISH_GIVEN = "John Mary David Sarah Michael Anna Peter Laura James Emma Thomas Julia Robert Helen Daniel".split()

SURNAMES = """
王 李 张 刘 陈 杨 黄 赵 吴 周 徐 孙 马 朱 胡 郭 何 高 林 罗 郑 梁 谢 宋 唐 许 韩 冯 邓 曹 彭 曾 肖 田 董
袁 潘 于 蒋 蔡 余 杜 叶 程 苏 魏 吕 丁 任 沈 姚 卢 姜 崔 钟 谭 陆 汪 范 金 石 廖 贾 夏 韦 付 方 白 邹 孟 熊
秦 邱 江 尹 薛 闫 段 雷 侯 龙 史 陶 黎 贺 顾 毛 郝 龚 邵 万 钱 严 武 戴 莫 孔 向 汤 欧阳 司马 诸葛 包 乌 云 敖
""".split()

GIVEN_CHARS = """
伟 芳 娜 秀 英 敏 静 丽 强 磊 军 洋 勇 艳 杰 娟 涛 明 超 霞 平 刚 桂 华 建 国 文 辉 玲 鹏 飞 宇 浩 凯 晨 欣 怡
婷 雪 琳 丹 峰 斌 波 宁 海 燕 红 梅 林 春 晓 志 新 立 永 健 俊 博 然 瑞 颖 慧 佳 嘉 子 思 雅 晶 露 岩 松 柏 青
""".split()

# Mongolian given names written in Chinese characters, used without a surname.
MONGOLIAN_NAMES = "巴特尔 其木格 乌云 斯琴 额尔敦 那仁 苏日娜 阿拉坦 宝音 朝鲁 哈斯 格日勒 图雅 萨仁 布和 满都拉".split()

PUBLISHERS = """
法律出版社 中国法制出版社 人民法院出版社 北京大学出版社 中国人民大学出版社 中国政法大学出版社 清华大学出版社
知识产权出版社 商务印书馆 生活·读书·新知三联书店 内蒙古人民出版社 内蒙古大学出版社 中国检察出版社 群众出版社
""".split()
ENGLISH_PUBLISHERS = ["Oxford University Press", "Cambridge University Press", "Springer", "Hart Publishing", "Routledge", "Edward Elgar"]

VENUES = """
人民司法 法律适用 中国法学 法学研究 人民法院报 中国应用法学 法律科学 政法论坛 内蒙古社会科学 全国法院学术讨论会
自治区法院调研成果评选 审判研究 中国审判
""".split()

# Simplified → traditional, for queries typed in traditional characters (the index converts t2s).
TRADITIONAL = {
    "担保": "擔保", "担保物权": "擔保物權", "诉讼": "訴訟", "执行": "執行", "继承": "繼承", "证据": "證據",
    "劳动": "勞動", "侵权责任": "侵權責任", "赔偿": "賠償", "审判": "審判", "债权": "債權", "离婚": "離婚",
    "知识产权": "知識產權", "民事诉讼法": "民事訴訟法", "损害": "損害", "纠纷": "糾紛", "国家赔偿": "國家賠償",
    "行政诉讼法": "行政訴訟法", "财产": "財產", "抵押权": "抵押權", "质权": "質權", "留置权": "留置權",
    "诉讼时效": "訴訟時效", "不当得利": "不當得利", "无因管理": "無因管理", "表见代理": "表見代理",
    "违约责任": "違約責任", "格式条款": "格式條款", "个人信息保护": "個人信息保護", "精神损害赔偿": "精神損害賠償",
    "监护人": "監護人", "夫妻共同债务": "夫妻共同債務", "举证责任": "舉證責任", "财产保全": "財產保全",
    "执行异议": "執行異議", "失信被执行人": "失信被執行人", "司法解释": "司法解釋", "裁判文书": "裁判文書",
    "指导性案例": "指導性案例", "正当防卫": "正當防衛", "缓刑": "緩刑", "减刑": "減刑", "假释": "假釋",
    "行政处罚": "行政處罰", "行政复议": "行政複議", "著作权": "著作權", "商标权": "商標權", "专利权": "專利權",
    "不正当竞争": "不正當競爭", "破产重整": "破產重整", "股权转让": "股權轉讓", "融资租赁": "融資租賃",
    "民间借贷": "民間借貸", "审理": "審理", "判决": "判決", "调解": "調解", "当事人": "當事人", "证人": "證人",
    "鉴定": "鑑定", "责任": "責任", "权利": "權利", "义务": "義務", "规则": "規則", "实践": "實踐", "问题": "問題",
    "经济": "經濟", "环境": "環境", "网络": "網絡", "数据": "數據", "农村": "農村", "劳动争议": "勞動爭議",
    "遗产": "遺產", "遗嘱": "遺囑", "继承人": "繼承人", "所有权": "所有權", "登记": "登記", "转让": "轉讓",
    "违约": "違約", "刑罚": "刑罰", "检察院": "檢察院", "律师": "律師", "婚姻家庭编": "婚姻家庭編",
}

BOOK_TITLES = [
    "{a}研究", "{a}问题研究", "{a}理论与实务", "{a}适用指南", "{a}案例精析", "{a}新论", "{a}实务全书", "{a}教程",
    "最高人民法院{a}司法解释理解与适用", "{a}与{b}", "{a}中的{b}问题", "{a}：{b}的视角", "{a}疑难问题解析",
    "{a}裁判规则与案例", "中国{a}", "{a}制度比较研究", "{a}法律实务", "{a}{b}研究",
]
PAPER_TITLES = [
    "{a}中的{b}问题研究", "论{a}", "{a}的司法适用", "关于{a}的调研报告", "{r}法院{a}实践探析", "{a}视野下的{b}",
    "{a}与{b}的衔接", "{a}案件审理中的{b}", "{a}制度的完善路径", "{r}地区{a}纠纷调查",
]
REGIONS = "鄂尔多斯 呼和浩特 包头 乌海 赤峰 通辽 呼伦贝尔 巴彦淖尔 乌兰察布 锡林郭勒 阿拉善 兴安 棋盘井".split()
EN_TITLES = ["{A} {B}", "{A} and {B}", "The {A} of {B}", "{A} {B}: {C} and {D}", "Introduction to {A} {B}", "{A} in China"]
PAPER_KINDS = ["research_project", "article", "case_study", "judgment_commentary"]
AWARDS = ["全国法院第{n}届学术讨论会一等奖", "全国法院第{n}届学术讨论会二等奖", "自治区法院优秀调研成果三等奖", "优秀案例分析"]
COPY_STATUSES = (["available"] * 80) + (["on_loan"] * 15) + (["repair"] * 3) + (["lost"] * 2)


def legal_terms(path: Path = LEGAL_DICT) -> list[str]:
    terms = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            terms.append(line.split()[0])
    return list(dict.fromkeys(terms))


def common_words() -> list[str]:
    return list(dict.fromkeys(COMMON_WORDS.split()))


def isbn13(body12: str) -> str:
    total = sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(body12))
    return body12 + str((10 - total % 10) % 10)


class _Weighted:
    """Words with Zipf-like weights (1 / (rank + 4)) over a seeded shuffle, drawn in bulk."""

    def __init__(self, words: list[str], rng: random.Random, *, extra: dict[str, float] | None = None):
        order = list(words)
        rng.shuffle(order)
        weights = [1.0 / (rank + 4) for rank in range(len(order))]
        total = sum(weights)
        self.words = order + list(extra or {})
        weights += [w * total for w in (extra or {}).values()]
        self.cum = list(accumulate(weights))

    def draw(self, rng: random.Random, k: int) -> list[str]:
        return rng.choices(self.words, cum_weights=self.cum, k=k)


class Corpus:
    """The synthetic catalog of ``records`` records for ``seed``."""

    def __init__(self, records: int, seed: int = 20250101):
        self.records = records
        self.seed = seed
        self.papers = max(1, round(records * 0.05)) if records >= 20 else 1
        self.books = records - self.papers
        self.legal = legal_terms()
        self.common = [w for w in common_words() if w not in set(self.legal)]
        self.content = self.legal + self.common
        rng = random.Random(seed)
        # Function words together weigh about a fifth of the running text.
        self.text_vocab = _Weighted(self.content, rng, extra={w: 0.2 / len(FUNCTION_WORDS) for w in FUNCTION_WORDS})
        self.topic_vocab = _Weighted(self.content, rng)
        self.english = _Weighted(ENGLISH_WORDS, rng)

    # --- pieces -----------------------------------------------------------------------------

    def person(self, rng: random.Random) -> str:
        if rng.random() < 0.04:
            return rng.choice(MONGOLIAN_NAMES)
        given = "".join(rng.choice(GIVEN_CHARS) for _ in range(1 if rng.random() < 0.35 else 2))
        return rng.choice(SURNAMES) + given

    def sentences(self, rng: random.Random, chars: int) -> str:
        """Running Chinese text of about ``chars`` characters, in sentences and paragraphs."""
        words = self.text_vocab.draw(rng, max(4, chars // 2))
        out: list[str] = []
        length = 0
        i = 0
        while length < chars and i < len(words):
            n = rng.randint(5, 13)
            sentence = "".join(words[i : i + n])
            i += n
            end = "。" if rng.random() < 0.55 else "，"
            if end == "。" and rng.random() < 0.08:
                end = "。\n"
            out.append(sentence + end)
            length += len(sentence) + 1
        text = "".join(out)
        return text[:-1] + "。" if text.endswith("，") else text

    def topics(self, rng: random.Random, k: int) -> list[str]:
        return list(dict.fromkeys(self.topic_vocab.draw(rng, k)))

    def clc(self, rng: random.Random) -> str:
        second = rng.choices("0123456789", weights=[6, 8, 40, 4, 3, 3, 2, 3, 3, 8])[0]
        code = f"D9{second}"
        if rng.random() < 0.8:
            code += str(rng.randint(0, 9))
            if rng.random() < 0.5:
                code += f".{rng.randint(1, 9)}"
        return code

    # --- records ----------------------------------------------------------------------------

    def iter_books(self) -> Iterator[dict]:
        rng = random.Random(self.seed * 31 + 1)
        for i in range(self.books):
            english = rng.random() < 0.07
            if english:
                words = [w.capitalize() for w in self.english.draw(rng, 4)]
                title = rng.choice(EN_TITLES).format(A=words[0], B=words[1], C=words[2], D=words[3])
                authors = [f"{rng.choice(ENGLISH_GIVEN)} {rng.choice(ENGLISH_SURNAMES)}" for _ in range(rng.randint(1, 2))]
                summary = " ".join(self.english.draw(rng, rng.randint(20, 50))).capitalize() + "."
                publisher = rng.choice(ENGLISH_PUBLISHERS)
                subjects = list(dict.fromkeys(self.english.draw(rng, 3)))
                language = "en"
                subtitle = ""
            else:
                a, b = self.topic_vocab.draw(rng, 2)
                title = rng.choice(BOOK_TITLES).format(a=a, b=b)
                subtitle = f"以{self.topic_vocab.draw(rng, 1)[0]}为中心" if rng.random() < 0.12 else ""
                authors = [self.person(rng) for _ in range(rng.choices([1, 2, 3], weights=[60, 30, 10])[0])]
                summary = self.sentences(rng, rng.randint(80, 260))
                publisher = rng.choice(PUBLISHERS)
                subjects = self.topics(rng, rng.randint(1, 4))
                language = "zh"
            year = min(2025, 1990 + int(rng.triangular(0, 36, 30)))
            has_isbn = rng.random() < 0.85
            prefix = "9780" if english else "9787"
            isbn = isbn13(f"{prefix}{(i * 7919) % 10**8:08d}") if has_isbn else None
            copies = [
                (f"B{i:07d}{k}", rng.choice(COPY_STATUSES)) for k in range(rng.choices([1, 2, 3], weights=[60, 30, 10])[0])
            ]
            yield {
                "isbn": isbn,
                "title": title,
                "subtitle": subtitle,
                "publisher": publisher,
                "year": year,
                "language": language,
                "clc": self.clc(rng),
                "subjects": subjects,
                "summary": summary,
                "authors": authors,
                "copies": copies,
            }

    def iter_papers(self) -> Iterator[dict]:
        rng = random.Random(self.seed * 31 + 2)
        for _ in range(self.papers):
            a, b = self.topic_vocab.draw(rng, 2)
            title = rng.choice(PAPER_TITLES).format(a=a, b=b, r=rng.choice(REGIONS))
            yield {
                "title": title,
                "abstract": self.sentences(rng, rng.randint(200, 400)),
                "keywords": self.topics(rng, rng.randint(3, 5)),
                "year": rng.randint(2005, 2025),
                "kind": rng.choice(PAPER_KINDS),
                "awards": rng.choice(AWARDS).format(n=rng.randint(20, 35)) if rng.random() < 0.2 else "",
                "venue": rng.choice(VENUES),
                "visibility": "public" if rng.random() < 0.6 else "internal",
                "authors": [self.person(rng) for _ in range(rng.randint(1, 3))],
                "full_text": self.sentences(rng, rng.randint(4500, 5500)),
            }

    def some_authors(self, k: int) -> list[str]:
        """Authors that exist in the catalog (those of the first books), for author queries."""
        names: list[str] = []
        for book in self.iter_books():
            if book["language"] == "zh":
                names.extend(book["authors"])
            if len(names) >= k:
                break
        return names[:k] or ["王伟"]

    # --- queries ----------------------------------------------------------------------------

    def queries(self, n: int, *, seed_offset: int = 0) -> list[tuple[str, str]]:
        """``n`` queries of 1–3 terms: ``(category, text)`` with category zh, author, pinyin, trad or en."""
        from pypinyin import Style, lazy_pinyin

        rng = random.Random(self.seed * 31 + 100 + seed_offset)
        trad = [(s, t) for s, t in TRADITIONAL.items() if s != t and s in set(self.content)]
        names = self.some_authors(300)
        out = []
        for _ in range(n):
            kind = rng.choices(["zh", "author", "pinyin", "trad", "en"], weights=[55, 6, 13, 13, 13])[0]
            k = rng.choices([1, 2, 3], weights=[45, 40, 15])[0]
            if kind == "zh":
                words = [rng.choice(self.legal) if rng.random() < 0.6 else rng.choice(self.common) for _ in range(k)]
                text = " ".join(dict.fromkeys(words))
            elif kind == "author":
                text = rng.choice(names)
                if k > 1:
                    text += " " + rng.choice(self.content)
            elif kind == "pinyin":
                pool = [w for w in self.content if len(w) <= 4]
                words = [rng.choice(pool) for _ in range(min(k, 2))]
                if rng.random() < 0.15:
                    words = [rng.choice(names)]
                if rng.random() < 0.2:
                    text = " ".join("".join(lazy_pinyin(w, style=Style.FIRST_LETTER)) for w in words)
                else:
                    text = " ".join("".join(lazy_pinyin(w)) for w in words)
            elif kind == "trad":
                words = [rng.choice(trad)[1] for _ in range(k)]
                text = " ".join(dict.fromkeys(words))
            else:
                text = " ".join(dict.fromkeys(self.english.draw(rng, k)))
            out.append((kind, text))
        return out
