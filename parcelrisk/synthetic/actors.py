"""Identities: postal operators, postcodes, phones, Faker name pools and party tables.

Faker is called only to fill small per-country pools of names, streets, cities and companies
(seeded); parties are then drawn from the pools with numpy. Legitimate and illicit parties are
drawn from the same pools, so a name says nothing about the sender's intent.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from faker import Faker

from parcelrisk.synthetic._util import DIGITS, LETTERS, ascii_lower, template, typo

# ================================================================================================
# Postal operators, express carriers, postcodes, phones
# ================================================================================================

#: Designated postal operator of each origin (UPU designated operators) and a short code.
POSTAL_OPERATORS: dict[str, tuple[str, str]] = {
    "CN": ("China Post", "CNPA"), "HK": ("Hongkong Post", "HKPA"), "US": ("USPS", "USPA"),
    "GB": ("Royal Mail", "GBRM"), "TR": ("PTT", "TRPA"), "KR": ("Korea Post", "KRPA"),
    "JP": ("Japan Post", "JPPA"), "SG": ("SingPost", "SGPA"), "IN": ("India Post", "INPA"),
    "CH": ("Swiss Post", "CHPA"), "CA": ("Canada Post", "CAPA"), "AU": ("Australia Post", "AUPA"),
    "TH": ("Thailand Post", "THPA"), "VN": ("Vietnam Post", "VNPA"),
    "NO": ("Posten Bring", "NOPA"), "MX": ("Correos de Mexico", "MXPA"),
    "PK": ("Pakistan Post", "PKPA"), "BD": ("Bangladesh Post", "BDPA"), "BR": ("Correios", "BRPA"),
    "CO": ("4-72", "COPA"), "PE": ("Serpost", "PEPA"), "EC": ("Correos del Ecuador", "ECPA"),
    "PH": ("PHLPost", "PHPA"), "NG": ("NIPOST", "NGPA"), "MY": ("Pos Malaysia", "MYPA"),
    "ZA": ("SAPO", "ZAPA"), "NP": ("Nepal Post", "NPPA"), "ID": ("Pos Indonesia", "IDPA"),
    "IL": ("Israel Post", "ILPA"), "RS": ("Posta Srbije", "RSPA"),
}  # fmt: skip
#: Express carriers: name, code, tracking-number format, weight among express items. YunExpress
#: (an e-commerce consolidator) only carries from CN/HK.
EXPRESS_CARRIERS: tuple[tuple[str, str, str, float], ...] = (
    ("DHL Express", "DHLX", "dhl", 0.4),
    ("UPS", "UPSX", "ups", 0.25),
    ("FedEx", "FDXX", "fedex", 0.2),
    ("YunExpress", "YUNX", "yun", 0.15),
)
#: Transit hubs of the express networks (ICS2 routing countries).
EXPRESS_HUBS = ("DE", "BE", "FR", "NL")

#: Postcode templates (``#`` digit, ``@`` capital letter), matching ``features/countries.yaml``
#: where listed there; ``None`` means the country has no postcodes.
POSTCODE_FORMATS: dict[str, str | None] = {
    "DE": "#####",
    "FR": "#####",
    "IT": "#####",
    "ES": "#####",
    "US": "#####",
    "PK": "#####",
    "KR": "#####",
    "TR": "#####",
    "FI": "#####",
    "MX": "#####",
    "TH": "#####",
    "PE": "#####",
    "NL": "#### @@",
    "BE": "####",
    "AT": "####",
    "DK": "####",
    "CH": "####",
    "NO": "####",
    "HU": "####",
    "AU": "####",
    "PH": "####",
    "BD": "####",
    "ZA": "####",
    "IL": "#######",
    "NP": "#####",
    "ID": "#####",
    "RS": "#####",
    "PL": "##-###",
    "PT": "####-###",
    "SE": "### ##",
    "CZ": "### ##",
    "SK": "### ##",
    "CN": "######",
    "IN": "######",
    "SG": "######",
    "RO": "######",
    "CO": "######",
    "VN": "######",
    "NG": "######",
    "EC": "######",
    "MY": "#####",
    "JP": "###-####",
    "BR": "#####-###",
    "IE": "@## @#@#",
    "CA": "@#@ #@#",
    "GB": "GB",
    "HK": None,
}
_GB_TEMPLATES = ("@# #@@", "@@# #@@", "@@## #@@", "@#@ #@@", "@@#@ #@@")
#: International calling codes and a national-number template.
PHONE_FORMATS: dict[str, str] = {
    "DE": "+49 15# #######", "FR": "+33 6 ## ## ## ##", "IT": "+39 3## #######",
    "ES": "+34 6## ### ###", "NL": "+31 6 ########", "PL": "+48 5## ### ###",
    "BE": "+32 47# ## ## ##", "AT": "+43 66# ######", "SE": "+46 7# ### ## ##",
    "PT": "+351 9## ### ###", "CZ": "+420 7## ### ###", "DK": "+45 ## ## ## ##",
    "IE": "+353 8# ### ####", "FI": "+358 4# ### ####", "HU": "+36 30 ### ####",
    "RO": "+40 7## ### ###", "SK": "+421 9## ### ###", "CH": "+41 7# ### ## ##",
    "NO": "+47 4## ## ###",
}  # fmt: skip
_EMAIL_DOMAINS = {
    "DE": ("gmail.com", "web.de", "gmx.de", "t-online.de"),
    "FR": ("gmail.com", "orange.fr", "free.fr"),
    "IT": ("gmail.com", "libero.it", "hotmail.it"),
    "ES": ("gmail.com", "hotmail.es", "yahoo.es"),
    "NL": ("gmail.com", "hotmail.nl", "ziggo.nl"),
    "PL": ("gmail.com", "wp.pl", "onet.pl"),
}
_DEFAULT_DOMAINS = ("gmail.com", "outlook.com", "yahoo.com", "icloud.com")

# Faker locale per country; None: built-in romanised lists below.
_LOCALES: dict[str, str | None] = {
    "DE": "de_DE",
    "FR": "fr_FR",
    "IT": "it_IT",
    "ES": "es_ES",
    "NL": "nl_NL",
    "PL": "pl_PL",
    "BE": "nl_BE",
    "AT": "de_AT",
    "SE": "sv_SE",
    "PT": "pt_PT",
    "CZ": "cs_CZ",
    "DK": "da_DK",
    "IE": "en_IE",
    "FI": "fi_FI",
    "HU": "hu_HU",
    "RO": "ro_RO",
    "SK": "sk_SK",
    "CH": "de_CH",
    "NO": "no_NO",
    "US": "en_US",
    "GB": "en_GB",
    "CA": "en_CA",
    "AU": "en_AU",
    "TR": "tr_TR",
    "IN": "en_IN",
    "PK": "en_PK",
    "BD": "en_BD",
    "TH": "en_TH",
    "VN": "vi_VN",
    "CO": "es_CO",
    "BR": "pt_BR",
    "MX": "es_MX",
    "PE": "es",
    "EC": "es",
    "PH": "en_PH",
    "NG": "en_NG",
    "ZA": "zu_ZA",
    "IL": "en_US",
    "NP": "en_IN",
    "ID": "id_ID",
    "RS": "hr_HR",
    "MY": "en_MS",
    "CN": None,
    "HK": None,
    "SG": None,
    "KR": None,
    "JP": "ja_JP",
}
_NUMBER_FIRST = {
    "FR",
    "US",
    "GB",
    "IE",
    "CA",
    "AU",
    "IN",
    "PK",
    "BD",
    "TH",
    "PH",
    "NG",
    "ZA",
    "MY",
    "CN",
    "HK",
    "SG",
    "KR",
    "JP",
    "VN",
}
_PINYIN_SURNAMES = (
    "Wang Li Zhang Liu Chen Yang Huang Zhao Wu Zhou Xu Sun Ma Zhu Hu Guo He Lin Luo "
    "Gao Zheng Liang Xie Song Tang Han Feng Deng Cao Peng"
).split()
_PINYIN_GIVEN = (
    "Wei Fang Na Min Jing Lei Qiang Yan Jun Yong Jie Tao Ming Chao Xiu Hui Ping Gang Hong "
    "Xin Yu Hao Lan Ling Bo Kai Rui Ying Zhiwei Xiaoming Jianguo Haiyan Lihua Yifan"
).split()
_PINYIN_WORDS = (
    "Zhongshan Renmin Jiefang Heping Jianshe Xinhua Huanghe Changjiang Shennan Binhe "
    "Longgang Baoan Futian Huaqiang Minzhi Xueyuan Guangming Dongfeng Jinxiu Wanda "
    "Xingfu Yingbin Chaoyang Tianhe Baiyun Haizhu Jinhua Qianjin Nanhai Beihai"
).split()
_KOREAN_SURNAMES = "Kim Lee Park Choi Jung Kang Cho Yoon Jang Lim Han Oh Seo Shin Kwon".split()
_KOREAN_GIVEN = (
    "Min-jun Seo-yeon Ji-ho Ha-eun Do-yun Soo-ah Jae-won Ye-jin Hyun-woo Ji-woo "
    "Sung-min Eun-ji Dong-hyun Yu-na Tae-yang"
).split()
_CUSTOM_CITIES = {
    "CN": (
        "Shenzhen Guangzhou Yiwu Shanghai Dongguan Hangzhou Beijing Ningbo Xiamen Suzhou Wuhan "
        "Chengdu Foshan Quanzhou Tianjin Nanjing Jinhua Zhengzhou Shantou Qingdao"
    ).split(),
    "HK": [
        "Kowloon",
        "Kwun Tong",
        "Tsuen Wan",
        "Sha Tin",
        "Mong Kok",
        "Wan Chai",
        "Kwai Chung",
        "Tsim Sha Tsui",
        "Central",
    ],
    "SG": ["Singapore"],
    "KR": "Seoul Busan Incheon Daegu Daejeon Gwangju Suwon Ulsan Goyang Seongnam".split(),
    "JP": "Tokyo Osaka Yokohama Nagoya Sapporo Fukuoka Kobe Kyoto Saitama Chiba".split(),
}
_COMPANY_WORDS = (
    "Trading",
    "Technology",
    "E-commerce",
    "Import & Export",
    "Industrial",
    "Electronic",
    "Network Technology",
    "Supply Chain",
    "Commerce",
    "Garment",
    "Crafts",
)


def _name_variants(name: str, rng: np.random.Generator, k: int) -> list[str]:
    """The name and ``k - 1`` variations (typo, reordering, middle initial, abbreviation).

    Case and initials are not variations here: they are the operator's formatting noise
    (:func:`parcelrisk.synthetic.assemble.format_noise`), applied to every party alike.
    """
    parts = name.split()
    options = [typo(name, rng)]
    if len(parts) >= 2:
        options += [
            f"{parts[-1]} {' '.join(parts[:-1])}",
            f"{parts[0]} {typo(parts[-1], rng)}",
            f"{parts[0]} {LETTERS[int(rng.integers(0, 26))]}. {' '.join(parts[1:])}",
            f"{typo(parts[0], rng)} {' '.join(parts[1:])}",
        ]
    for long, short in (
        ("Street", "St."),
        ("Road", "Rd"),
        ("straße", "str."),
        ("Limited", "Ltd"),
        ("Co., Ltd", "Co Ltd"),
        ("Avenue", "Ave"),
    ):
        if long in name:
            options.append(name.replace(long, short))
    options = [o for o in dict.fromkeys(options) if o != name] or [name]
    picks = rng.choice(len(options), size=min(k - 1, len(options)), replace=False)
    return [name] + [options[i] for i in picks]


def _postcodes(country: str, n: int, rng: np.random.Generator) -> np.ndarray:
    fmt = POSTCODE_FORMATS.get(country, "#####")
    if fmt is None:
        return np.full(n, None, dtype=object)
    if fmt == "GB":
        which = rng.integers(0, len(_GB_TEMPLATES), n)
        out = np.empty(n, dtype=object)
        for i, t in enumerate(_GB_TEMPLATES):
            sel = which == i
            out[sel] = template(t, int(sel.sum()), rng)
        return out
    codes = template(fmt, n, rng)
    if fmt.startswith("#") and country not in ("DE", "FR", "IT", "ES", "US"):
        # no leading zero where postcodes start at 1
        first = DIGITS[rng.integers(1, 10, n)].astype(object)
        codes = first + np.array([c[1:] for c in codes], dtype=object) if n else codes
    return codes


@dataclass
class _Pool:
    first: np.ndarray
    last: np.ndarray
    street: np.ndarray
    city: np.ndarray
    company: np.ndarray


def _stable_faker(fake: Faker) -> Faker:
    """Sort the word lists of the providers Faker draws from.

    Some locales build their lists from sets (``it_IT`` cities), whose order depends on the
    process's string-hash seed; sorted lists make the pools identical in every process.
    """
    for provider in fake.get_providers():
        names = {n for cls in type(provider).__mro__ for n in vars(cls)} | set(vars(provider))
        for name in sorted(names):
            if name.startswith("_"):
                continue
            val = inspect.getattr_static(
                provider, name, None
            )  # the effective value, no descriptors
            if isinstance(val, list | tuple) and val and all(isinstance(x, str) for x in val):
                setattr(provider, name, type(val)(sorted(val)))
    return fake


def _pool_for(country: str, seed: int) -> _Pool:
    locale = _LOCALES.get(country, "en_US")
    n_names, n_streets, n_cities, n_comp = 150, 120, 60, 60
    fake = _stable_faker(Faker(locale or "en_US"))
    fake.seed_instance(seed)
    if country in ("CN", "HK", "SG"):
        rnd = np.random.default_rng(seed)
        first = rnd.choice(_PINYIN_GIVEN, n_names)
        last = rnd.choice(_PINYIN_SURNAMES, n_names)
        street = np.array(
            [
                f"{w} {s}"
                for w, s in zip(
                    rnd.choice(_PINYIN_WORDS, n_streets),
                    rnd.choice(
                        ["Road", "Rd", "Street", "Avenue", "Lu", "Industrial Park"], n_streets
                    ),
                    strict=True,
                )
            ]
        )
        city = np.array(_CUSTOM_CITIES[country])
        company = np.array(
            [
                f"{c} {w} {k} Co., Ltd"
                for c, w, k in zip(
                    rnd.choice(city, n_comp),
                    rnd.choice(_PINYIN_WORDS, n_comp),
                    rnd.choice(_COMPANY_WORDS, n_comp),
                    strict=True,
                )
            ]
        )
    elif country == "KR":
        rnd = np.random.default_rng(seed)
        first, last = rnd.choice(_KOREAN_GIVEN, n_names), rnd.choice(_KOREAN_SURNAMES, n_names)
        street = np.array(
            [
                f"{w}-ro"
                for w in rnd.choice(
                    [
                        "Teheran",
                        "Gangnam",
                        "Sejong",
                        "Eulji",
                        "Jongno",
                        "Hangang",
                        "Dosan",
                        "Olympic",
                    ],
                    n_streets,
                )
            ]
        )
        city = np.array(_CUSTOM_CITIES["KR"])
        company = np.array(
            [
                f"{s} {k} Co., Ltd"
                for s, k in zip(
                    rnd.choice(
                        ["Hanil", "Daesung", "Mirae", "Saehan", "Kumho", "Dongyang"], n_comp
                    ),
                    rnd.choice(_COMPANY_WORDS, n_comp),
                    strict=True,
                )
            ]
        )
    elif country == "JP":
        first = np.array([fake.first_romanized_name() for _ in range(n_names)])
        last = np.array([fake.last_romanized_name() for _ in range(n_names)])
        rnd = np.random.default_rng(seed)
        street = np.array(
            [
                f"{w}-cho"
                for w in rnd.choice(
                    ["Chuo", "Minato", "Shinjuku", "Shibuya", "Nakano", "Sakae", "Umeda", "Namba"],
                    n_streets,
                )
            ]
        )
        city = np.array(_CUSTOM_CITIES["JP"])
        company = np.array(
            [
                f"{ln} {k} K.K."
                for ln, k in zip(
                    rnd.choice(last, n_comp), rnd.choice(_COMPANY_WORDS, n_comp), strict=True
                )
            ]
        )
    else:
        first = np.array([fake.first_name() for _ in range(n_names)])
        last = np.array([fake.last_name() for _ in range(n_names)])
        street = np.array([fake.street_name() for _ in range(n_streets)])
        city = np.array(list(dict.fromkeys(fake.city() for _ in range(n_cities))))
        company = np.array([fake.company() for _ in range(n_comp)])
    return _Pool(*(np.asarray(a, dtype=object) for a in (first, last, street, city, company)))


@lru_cache(maxsize=4)
def _pools(seed: int) -> dict[str, _Pool]:
    """Per-country pools, built once per seed (Faker is slow per call)."""
    return {c: _pool_for(c, (seed * 7919 + i) % 2**32) for i, c in enumerate(sorted(_LOCALES))}


class _Parties:
    """A growing table of parties (name, address, city, postcode, country, phone, email, entity).

    Rows are appended in chunks; :meth:`table` concatenates only what was added since the last
    call, so a world that adds identities one by one stays linear.
    """

    COLS = ("name", "address", "city", "postcode", "country", "phone", "email")

    def __init__(self) -> None:
        self.chunks: list[dict[str, np.ndarray]] = []
        self.size = 0
        self.next_entity = 0
        self._table: dict[str, np.ndarray] | None = None
        self._merged = 0

    def add(self, cols: Mapping[str, np.ndarray], entity: np.ndarray | None = None) -> np.ndarray:
        n = len(cols["name"])
        chunk = {
            c: np.asarray(cols[c], dtype=object) if c in cols else np.full(n, None, dtype=object)
            for c in self.COLS
        }
        if entity is None:
            entity = np.arange(self.next_entity, self.next_entity + n)
            self.next_entity += n
        chunk["entity"] = np.asarray(entity, dtype="int64")
        self.chunks.append(chunk)
        idx = np.arange(self.size, self.size + n)
        self.size += n
        return idx

    def new_entities(self, n: int) -> np.ndarray:
        ids = np.arange(self.next_entity, self.next_entity + n)
        self.next_entity += n
        return ids

    def table(self) -> dict[str, np.ndarray]:
        keys = (*self.COLS, "entity")
        new = self.chunks[self._merged :]
        if new or self._table is None:
            parts = ([self._table] if self._table is not None else []) + new
            self._table = {c: np.concatenate([p[c] for p in parts]) for c in keys}
            self._merged = len(self.chunks)
        return self._table


def _addresses(
    pool: _Pool, country: str, n: int, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    street = pool.street[rng.integers(0, len(pool.street), n)]
    number = rng.integers(1, 200, n).astype(str).astype(object)
    suffix = np.where(rng.random(n) < 0.1, LETTERS[rng.integers(0, 6, n)].astype(object), "")
    number = number + suffix.astype(object)
    address = number + " " + street if country in _NUMBER_FIRST else street + " " + number
    return {
        "address": address,
        "city": pool.city[rng.integers(0, len(pool.city), n)],
        "postcode": _postcodes(country, n, rng),
        "country": np.full(n, country, dtype=object),
    }


def _people(
    pools: Mapping[str, _Pool],
    countries: np.ndarray,
    rng: np.random.Generator,
    *,
    company: float = 0.0,
) -> dict[str, np.ndarray]:
    """Names and addresses for persons (or, with probability ``company``, businesses) by country."""
    n = len(countries)
    out = {c: np.empty(n, dtype=object) for c in ("name", "address", "city", "postcode", "country")}
    for country in np.unique(countries):
        sel = np.flatnonzero(countries == country)
        pool = pools.get(country) or pools["US"]
        k = len(sel)
        names = (
            pool.first[rng.integers(0, len(pool.first), k)]
            + " "
            + pool.last[rng.integers(0, len(pool.last), k)]
        )
        is_company = rng.random(k) < company
        names[is_company] = pool.company[rng.integers(0, len(pool.company), int(is_company.sum()))]
        out["name"][sel] = names
        for key, val in _addresses(pool, str(country), k, rng).items():
            out[key][sel] = val
    return out


def _contacts(
    names: np.ndarray,
    countries: np.ndarray,
    rng: np.random.Generator,
    phone_p: float,
    email_p: float,
) -> tuple[np.ndarray, np.ndarray]:
    n = len(names)
    phone = np.full(n, None, dtype=object)
    for country in np.unique(countries):
        sel = np.flatnonzero(countries == country)
        phone[sel] = template(PHONE_FORMATS.get(country, "+44 7### ######"), len(sel), rng)
    phone[rng.random(n) >= phone_p] = None
    local = ascii_lower(np.array([s.split()[0] if s else "x" for s in names], dtype=object))
    family = ascii_lower(np.array([s.split()[-1] if s else "x" for s in names], dtype=object))
    num = np.where(rng.random(n) < 0.5, rng.integers(1, 99, n).astype(str), "").astype(object)
    sep = np.where(rng.random(n) < 0.6, ".", "").astype(object)
    domain = np.empty(n, dtype=object)
    for country in np.unique(countries):
        sel = np.flatnonzero(countries == country)
        doms = np.array(_EMAIL_DOMAINS.get(country, _DEFAULT_DOMAINS), dtype=object)
        domain[sel] = doms[rng.integers(0, len(doms), len(sel))]
    email = local + sep + family + num + "@" + domain
    email[rng.random(n) >= email_p] = None
    return phone, email


# ================================================================================================
# Generation context
# ================================================================================================
