"""Synthetic postal and express manifests with planted drug-trafficking patterns.

The generator writes what a customs risk unit receives (ICS2 / ITMATT advance
data, one row per item) plus, for evaluation, what it never sees: which items
were illicit and why (``truth_illicit``, ``truth_pattern``). In between, the
labels are what customs *has*: inspections chosen by a legacy targeting policy
(``features/legacy_targeting_rules.yaml``), officer discretion, a random
control sample and a little intelligence, with imperfect detection.

Background traffic (~99.4% of items) is legitimate: low-value e-commerce,
gifts between private persons, documents, returns, B2B samples, supplements,
medicines, chemicals and food. Most vague descriptions ("gift", "parts",
"sample") are legitimate. Illicit traffic (default 0.6%) follows the patterns
named in :data:`PATTERN_SHARES`, each a function below that cites its source.

Everything is vectorised over rows; Faker is called only to fill small
per-country pools of names, streets, cities and companies (seeded), which are
then sampled with numpy. Same seed, same frame, same bytes on disk.

>>> df = generate_manifest(2_000, seed=3, days=3)
>>> len(df), df["item_id"].is_unique, bool(df["declared_at"].is_monotonic_increasing)
(2000, True, True)
"""

from __future__ import annotations

import inspect
import math
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from faker import Faker

from parcelrisk.legacy_rules import (
    LegacyPolicy,
    legacy_rule_hits,
    legacy_rule_score,
    load_legacy_policy,
    vague_description,
)
from parcelrisk.schema import (
    LABEL_COLUMNS,
    MANIFEST_COLUMNS,
    TRUTH_COLUMNS,
    LabelSchema,
    ManifestSchema,
    TruthSchema,
)

__all__ = [
    "generate_manifest",
    "write_manifest",
    "make_sample",
    "rule_baselines",
    "s10_check_digit",
    "SAMPLE_SEED",
    "CURRENCY_EUR_RATES",
    "RECIPIENT_COUNTRY_MIX",
    "ECOMMERCE_ORIGIN_MIX",
    "LEGIT_SHARES",
    "ILLICIT_RATE",
    "PATTERN_SHARES",
    "DETECTION_PROBABILITY",
    "darknet_vendor",
    "nps_precursor",
    "rx_as_supplement",
    "concealment",
    "drop_address",
    "split_shipment",
    "no_red_flag",
]

M = ManifestSchema
L = LabelSchema
T = TruthSchema

# ================================================================================================
# Constants (documented; change them here, the README of data/synthetic/ quotes them)
# ================================================================================================

#: Seed of the committed sample in ``data/synthetic/`` (see :func:`make_sample`).
SAMPLE_SEED = 20261124

#: Units of currency per 1 EUR. ECB euro foreign exchange reference rates, 2025 annual averages,
#: rounded to 4 significant digits; the same figures as ``features/currency_rates.yaml``.
CURRENCY_EUR_RATES: dict[str, float] = {
    "EUR": 1.0, "USD": 1.082, "GBP": 0.8466, "CNY": 7.811, "HKD": 8.453, "JPY": 163.2,
    "CHF": 0.9526, "CAD": 1.482, "AUD": 1.645, "INR": 92.48, "PKR": 301.5, "SGD": 1.455,
    "TRY": 38.90, "KRW": 1520.0, "THB": 38.10, "BRL": 5.980, "MXN": 20.10, "NOK": 11.65,
}  # fmt: skip

#: Local currency of each sender country; countries not listed declare in USD.
COUNTRY_CURRENCY: dict[str, str] = {
    "CN": "CNY", "HK": "HKD", "US": "USD", "GB": "GBP", "JP": "JPY", "CH": "CHF", "CA": "CAD",
    "AU": "AUD", "IN": "INR", "PK": "PKR", "SG": "SGD", "TR": "TRY", "KR": "KRW", "TH": "THB",
    "BR": "BRL", "MX": "MXN", "NO": "NOK",
}  # fmt: skip

#: Destination mix (the importing customs union is the EU). Roughly proportional to EU B2C
#: e-commerce parcel volumes by member state (Eurostat "E-commerce by individuals", 2024,
#: weighted by population); 1% goes to non-EU addresses handled in transit.
RECIPIENT_COUNTRY_MIX: dict[str, float] = {
    "DE": 0.22, "FR": 0.15, "IT": 0.11, "ES": 0.10, "NL": 0.07, "PL": 0.07, "BE": 0.04,
    "AT": 0.035, "SE": 0.035, "PT": 0.025, "CZ": 0.025, "DK": 0.02, "IE": 0.02, "FI": 0.015,
    "HU": 0.015, "RO": 0.015, "SK": 0.01, "CH": 0.005, "NO": 0.005,
}  # fmt: skip

#: Origin of low-value e-commerce. The bulk comes from China (European Commission, COM(2025) 37
#: "A comprehensive EU toolbox for safe and sustainable e-commerce": 91% of low-value
#: consignments of 2024 from China); the rest from the other large marketplaces' hubs.
ECOMMERCE_ORIGIN_MIX: dict[str, float] = {
    "CN": 0.62, "HK": 0.06, "US": 0.08, "GB": 0.07, "TR": 0.03, "KR": 0.02, "JP": 0.015,
    "SG": 0.01, "IN": 0.015, "CH": 0.01, "CA": 0.01, "AU": 0.005, "TH": 0.005, "VN": 0.01,
    "NO": 0.005, "MX": 0.005,
}  # fmt: skip
#: Gifts between private persons: diaspora and family links (illustrative).
GIFT_ORIGIN_MIX: dict[str, float] = {
    "US": 0.15, "GB": 0.12, "TR": 0.12, "CH": 0.06, "IN": 0.06, "PK": 0.04, "BR": 0.05, "CO": 0.04,
    "PH": 0.05, "VN": 0.05, "CN": 0.06, "CA": 0.05, "AU": 0.03, "NG": 0.04, "MX": 0.03, "PE": 0.02,
    "NO": 0.02, "TH": 0.02,
}  # fmt: skip
#: Documents (letters, contracts, certificates): business and private correspondence.
DOCUMENT_ORIGIN_MIX: dict[str, float] = {
    "US": 0.25, "GB": 0.2, "CH": 0.1, "CN": 0.08, "IN": 0.06, "JP": 0.05, "CA": 0.05, "TR": 0.05,
    "AU": 0.03, "SG": 0.03, "BR": 0.03, "CO": 0.02, "NO": 0.03, "KR": 0.02,
}  # fmt: skip
#: Returns of goods bought from EU shops by customers abroad.
RETURN_ORIGIN_MIX: dict[str, float] = {"GB": 0.45, "CH": 0.25, "NO": 0.15, "US": 0.1, "TR": 0.05}
#: B2B commercial samples.
SAMPLE_ORIGIN_MIX: dict[str, float] = {
    "CN": 0.4, "US": 0.15, "GB": 0.1, "JP": 0.06, "KR": 0.06, "IN": 0.08, "TR": 0.07, "CH": 0.04,
    "HK": 0.04,
}  # fmt: skip
#: Food supplements and vitamins (mostly US online retailers).
SUPPLEMENT_ORIGIN_MIX: dict[str, float] = {
    "US": 0.45, "GB": 0.1, "CH": 0.03, "IN": 0.18, "CN": 0.07, "CA": 0.04, "SG": 0.06, "PK": 0.04,
    "HK": 0.03,
}  # fmt: skip
#: Medicines with proper HS chapter 30 codes (pharmacies, personal prescriptions).
MEDICINE_ORIGIN_MIX: dict[str, float] = {
    "CH": 0.2, "GB": 0.18, "US": 0.17, "IN": 0.22, "TR": 0.08, "SG": 0.06, "CA": 0.04, "PK": 0.03,
    "BD": 0.02,
}  # fmt: skip
#: Chemicals, reagents, plant food, bath salts (laboratories, shops, hobbyists).
CHEMICAL_ORIGIN_MIX: dict[str, float] = {
    "CN": 0.45, "IN": 0.18, "US": 0.15, "GB": 0.08, "HK": 0.05, "JP": 0.04, "CH": 0.05,
}  # fmt: skip
#: Tea, coffee, spices, sweets.
FOOD_ORIGIN_MIX: dict[str, float] = {
    "CN": 0.3, "IN": 0.15, "JP": 0.1, "CO": 0.12, "TR": 0.1, "GB": 0.08, "US": 0.08, "BR": 0.04,
    "PE": 0.03,
}  # fmt: skip

#: Shares of legitimate traffic by flow (of the legitimate items); illustrative, chosen so that
#: e-commerce dominates as in EU postal imports.
LEGIT_SHARES: dict[str, float] = {
    "ecommerce": 0.696, "gift": 0.08, "documents": 0.07, "supplements": 0.05, "samples": 0.035,
    "returns": 0.025, "food": 0.02, "chemicals": 0.012, "medicines": 0.012,
}  # fmt: skip

#: Share of illicit items among all items (0.3-1% is the plausible range for a seizure-rich
#: postal stream; EMCDDA/Europol "Drugs and the darknet", 2017, and UPU/WCO postal guidance
#: describe post as a minor share of volume but a persistent channel).
ILLICIT_RATE = 0.006

#: Share of each illicit pattern among illicit items; the functions of the same name say why.
PATTERN_SHARES: dict[str, float] = {
    "darknet_vendor": 0.30, "nps_precursor": 0.13, "rx_as_supplement": 0.16, "concealment": 0.10,
    "drop_address": 0.10, "split_shipment": 0.07, "no_red_flag": 0.14,
}  # fmt: skip

#: Probability that an inspection finds the contraband, by selection source; multiplied by the
#: pattern's concealment factor (:data:`CONCEALMENT_FACTOR`). Illustrative: WCO/UPU guidance
#: notes that examinations miss well-concealed drugs without scanners or dogs.
DETECTION_PROBABILITY: dict[str, float] = {
    "rule": 0.8, "officer": 0.8, "random": 0.8, "intelligence": 0.9,
}  # fmt: skip
#: Detection multiplier by pattern (1 = as easy as it gets).
CONCEALMENT_FACTOR: dict[str, float] = {
    "darknet_vendor": 0.95, "nps_precursor": 1.0, "rx_as_supplement": 1.0, "concealment": 0.55,
    "drop_address": 0.85, "split_shipment": 0.9, "no_red_flag": 0.7,
}  # fmt: skip
#: Intelligence: share of darknet vendors and drop addresses known to the unit, share of other
#: senders wrongly suspected, and the probability that a watched entity's item is inspected.
INTELLIGENCE = {"vendor_share": 0.4, "drop_share": 0.3, "false_share": 0.002, "inspect_p": 0.4}

_PATTERNS = ("legit", *PATTERN_SHARES)
_US = 1_000_000  # microseconds per second
_DAY_US = 86_400 * _US

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
    "ZA": ("SAPO", "ZAPA"),
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

# ================================================================================================
# Goods vocabularies: descriptions, HS codes, value and weight distributions
# ================================================================================================


@dataclass(frozen=True)
class _Goods:
    terms: tuple[str, ...]
    hs: tuple[str, ...]
    value_eur: tuple[float, float]  # log-normal median, sigma
    weight_kg: tuple[float, float]  # log-normal median, sigma
    max_qty: int = 3


#: Goods types: descriptions (WCO HS 2022 headings and typical e-commerce wording), HS codes,
#: declared value (EUR, log-normal median and sigma) and gross weight (kg, log-normal).
# fmt: off
GOODS: dict[str, _Goods] = {
    "apparel": _Goods(
        ("T-shirt", "women dress", "hoodie", "socks", "clothes", "clothing", "jacket", "leggings",
         "sneakers", "shoes", "baseball cap", "jeans", "swimwear", "sweater"),
        ("610910", "620442", "611020", "611596", "640411", "650500", "620342", "611241", "611030"),
        (13, 0.7), (0.3, 0.6), 4,
    ),
    "electronics": _Goods(
        ("phone case", "USB cable", "charger", "earphones", "bluetooth headphones", "power bank",
         "LED strip", "smart watch", "screen protector", "adapter", "electronics", "speaker",
         "mouse", "keyboard"),
        ("392690", "854442", "850440", "851830", "850760", "940540", "910212", "851762", "847160",
         "851822"),
        (15, 0.9), (0.15, 0.7), 3,
    ),
    "home": _Goods(
        ("kitchen utensils", "storage box", "wall sticker", "lamp", "towel", "bed sheet",
         "curtain", "candles", "decoration", "artificial flowers", "mug", "cushion cover"),
        ("392490", "482390", "940520", "630260", "630231", "340600", "670290", "691200"),
        (14, 0.8), (0.5, 0.8), 3,
    ),
    "toys": _Goods(
        ("toys", "toy car", "puzzle", "building blocks", "fishing lure", "craft supplies",
         "beads", "stickers", "model kit", "plush toy", "board game"),
        ("950300", "950490", "950790", "701890", "491191"),
        (10, 0.8), (0.3, 0.8), 4,
    ),
    "beauty": _Goods(
        ("cosmetics", "lipstick", "face cream", "nail polish", "makeup brush", "hair clips",
         "false eyelashes", "serum", "perfume", "skin care", "bath salts", "shampoo"),
        ("330499", "330410", "330430", "960330", "330300", "330510", "330730", "961590"),
        (9, 0.8), (0.15, 0.7), 4,
    ),
    "jewellery": _Goods(
        ("necklace", "earrings", "bracelet", "ring", "watch", "sunglasses", "accessories",
         "hair accessories", "keychain"),
        ("711719", "711790", "910211", "900410", "961519"),
        (8, 0.9), (0.06, 0.6), 5,
    ),
    "tools": _Goods(
        ("tools", "auto parts", "car accessories", "spare parts", "parts", "screwdriver set",
         "drill bits", "bike parts", "garden tools", "fittings"),
        ("870899", "820540", "820750", "871499", "846721", "732690", "820190"),
        (20, 0.9), (0.6, 0.9), 3,
    ),
    "books": _Goods(
        ("books", "book", "magazine", "printed matter", "comics", "calendar"),
        ("490199", "490110", "490290", "491000", "490300"),
        (15, 0.6), (0.5, 0.6), 3,
    ),
    "supplements": _Goods(
        ("vitamins", "food supplement", "dietary supplement", "protein powder",
         "fish oil capsules", "melatonin", "multivitamin", "probiotics", "magnesium tablets",
         "vitamin D3", "herbal supplement", "collagen"),
        ("210690", "21069098", "210610", "150420", "293627", "350400"),
        (25, 0.6), (0.4, 0.6), 4,
    ),
    "medicines": _Goods(
        ("medicine", "prescription medication", "tablets", "insulin", "eye drops",
         "pharmaceutical products", "ointment", "ayurvedic medicine", "antibiotics", "medication"),
        ("300490", "300439", "300420", "300410", "30049000", "300431"),
        (40, 1.0), (0.2, 0.7), 3,
    ),
    "chemicals": _Goods(
        ("laboratory reagent", "reagents", "chemicals", "analytical standard",
         "sodium bicarbonate", "citric acid", "pigment powder", "catalyst", "resin", "silica gel",
         "plant food", "fertilizer", "bath salts", "cleaning agent", "lab chemicals",
         "research chemicals"),
        ("281511", "283630", "291814", "293399", "320417", "381590", "382499", "310590", "330730",
         "340290", "282300", "382200"),
        (60, 1.2), (0.5, 1.0), 5,
    ),
    "food": _Goods(
        ("tea", "green tea", "coffee", "spices", "snacks", "candy", "dried fruit", "chocolate",
         "herbal tea", "coffee beans", "noodles", "honey"),
        ("090230", "090210", "090121", "091099", "170490", "081340", "180632", "190230", "040900"),
        (15, 0.7), (0.4, 0.7), 4,
    ),
    "gift": _Goods(
        ("gift", "birthday gift", "christmas present", "present", "clothes", "toys", "books",
         "sweets", "personal items", "family photos", "used clothing", "homemade food",
         "personal effects", "souvenirs", "gifts", "baby clothes", "household items"),
        ("980400", "630900", "490199", "170490", "950300", "621790"),
        (30, 0.7), (1.5, 0.9), 6,
    ),
    "documents": _Goods(
        ("documents", "docs", "letter", "contract", "certificate", "papers", "greeting card",
         "photos", "invoice", "legal documents", "bank documents", "university transcript", "dox"),
        ("490199", "491199", "490900", "491110"),
        (1, 1.0), (0.06, 0.8), 1,
    ),
    "returns": _Goods(
        ("returned goods", "return", "customer return", "RMA repair", "warranty return",
         "return clothes", "return shoes", "returned merchandise"),
        ("620442", "640411", "851762", "611020", "420222", "847130"),
        (55, 0.8), (0.8, 0.7), 2,
    ),
    "samples": _Goods(
        ("sample", "samples", "commercial sample", "fabric samples", "product samples",
         "sample of no commercial value", "prototype", "parts", "spare parts", "components",
         "test samples", "materials"),
        ("392690", "520812", "847330", "853400", "731815", "401699", "902790", "830249"),
        (20, 1.0), (0.4, 1.0), 5,
    ),
}
# fmt: on
#: E-commerce mix of goods types.
ECOMMERCE_GOODS_MIX: dict[str, float] = {
    "apparel": 0.28,
    "electronics": 0.22,
    "home": 0.13,
    "toys": 0.08,
    "beauty": 0.1,
    "jewellery": 0.08,
    "tools": 0.07,
    "books": 0.04,
}  # fmt: skip
#: Vague descriptions used by legitimate e-commerce sellers instead of the real one (all on the
#: PACT/ICS2 lists), and the share of e-commerce items described this way.
VAGUE_ECOMMERCE_TERMS = (
    "gift",
    "goods",
    "accessories",
    "parts",
    "sample",
    "products",
    "items",
    "merchandise",
    "various goods",
    "misc",
    "gifts",
    "articles",
    "stuff",
)
VAGUE_ECOMMERCE_SHARE = 0.12

# ================================================================================================
# Small helpers
# ================================================================================================

_DIGITS = np.array(list("0123456789"))
_LETTERS = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))


def _join_chars(mat: np.ndarray) -> np.ndarray:
    """(n, k) array of single characters -> object array of n strings."""
    n, k = mat.shape
    if k == 0:
        return np.full(n, "", dtype=object)
    return np.ascontiguousarray(mat.astype("<U1")).view(f"<U{k}").ravel().astype(object)


def _template(template: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """Fill ``#`` with digits and ``@`` with capital letters, vectorised."""
    cols = []
    for ch in template:
        if ch == "#":
            cols.append(_DIGITS[rng.integers(0, 10, n)])
        elif ch == "@":
            cols.append(_LETTERS[rng.integers(0, 26, n)])
        else:
            cols.append(np.full(n, ch, dtype="<U1"))
    return _join_chars(np.stack(cols, axis=1)) if cols else np.full(n, "", dtype=object)


def _postcodes(country: str, n: int, rng: np.random.Generator) -> np.ndarray:
    fmt = POSTCODE_FORMATS.get(country, "#####")
    if fmt is None:
        return np.full(n, None, dtype=object)
    if fmt == "GB":
        which = rng.integers(0, len(_GB_TEMPLATES), n)
        out = np.empty(n, dtype=object)
        for i, t in enumerate(_GB_TEMPLATES):
            sel = which == i
            out[sel] = _template(t, int(sel.sum()), rng)
        return out
    codes = _template(fmt, n, rng)
    if fmt.startswith("#") and country not in ("DE", "FR", "IT", "ES", "US"):
        # no leading zero where postcodes start at 1
        first = _DIGITS[rng.integers(1, 10, n)].astype(object)
        codes = first + np.array([c[1:] for c in codes], dtype=object) if n else codes
    return codes


def _mix(rng: np.random.Generator, mix: Mapping[str, float], n: int) -> np.ndarray:
    keys = np.array(list(mix), dtype=object)
    p = np.array(list(mix.values()), dtype="float64")
    return keys[rng.choice(len(keys), size=n, p=p / p.sum())]


def _lognormal(rng: np.random.Generator, median: float, sigma: float, n: int) -> np.ndarray:
    return median * np.exp(sigma * rng.standard_normal(n))


def _typo(word: str, rng: np.random.Generator) -> str:
    if len(word) < 4:
        return word
    i = int(rng.integers(1, len(word) - 2))
    kind = int(rng.integers(0, 3))
    if kind == 0:  # swap
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if kind == 1:  # drop
        return word[:i] + word[i + 1 :]
    return word[:i] + word[i] + word[i:]  # double


def _text_variants(terms: Sequence[str], rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Each term in five spellings (as is, lower, UPPER, Title, typo) and their probabilities."""
    out, p = [], []
    for t in terms:
        out += [t, t.lower(), t.upper(), t.title(), _typo(t, rng)]
        p += [0.5, 0.22, 0.12, 0.1, 0.06]
    prob = np.array(p) / sum(p)
    return np.array(out, dtype=object), prob


def _ascii_lower(values: np.ndarray) -> np.ndarray:
    s = (
        pd.Series(values, dtype="str")
        .str.normalize("NFKD")
        .str.encode("ascii", "ignore")
        .str.decode("ascii")
    )
    return s.str.lower().str.replace(r"[^a-z]+", "", regex=True).to_numpy(dtype=object)


def s10_check_digit(serial: np.ndarray) -> np.ndarray:
    """UPU S10 check digit of 8-digit serials (int array): weights 8 6 4 2 3 5 9 7, mod 11.

    >>> s10_check_digit(np.array([47312482])).tolist()  # RR473124829GB
    [9]
    """
    weights = np.array([8, 6, 4, 2, 3, 5, 9, 7])
    digits = (np.asarray(serial, dtype="int64")[:, None] // 10 ** np.arange(7, -1, -1)) % 10
    check = 11 - (digits @ weights) % 11
    return np.where(check == 10, 0, np.where(check == 11, 5, check))


def _name_variants(name: str, rng: np.random.Generator, k: int) -> list[str]:
    """The name and ``k - 1`` variations (case, initial, typo, reordering, abbreviation)."""
    parts = name.split()
    options = [name.upper(), name.lower(), _typo(name, rng)]
    if len(parts) >= 2:
        options += [
            f"{parts[0][0]}. {' '.join(parts[1:])}",
            f"{parts[-1]} {' '.join(parts[:-1])}",
            f"{parts[0]} {_typo(parts[-1], rng)}",
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
    picks = rng.choice(len(options), size=min(k - 1, len(options)), replace=False)
    return [name] + [options[i] for i in picks]


# ================================================================================================
# Pools (Faker, seeded) and party tables
# ================================================================================================


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
    """A growing table of parties (name, address, city, postcode, country, phone, email, entity)."""

    COLS = ("name", "address", "city", "postcode", "country", "phone", "email")

    def __init__(self) -> None:
        self.chunks: list[dict[str, np.ndarray]] = []
        self.size = 0
        self.next_entity = 0

    def add(self, cols: Mapping[str, np.ndarray], entity: np.ndarray | None = None) -> np.ndarray:
        n = len(cols["name"])
        chunk = {
            c: np.asarray(cols[c], dtype=object) if c in cols else np.full(n, None, dtype=object)
            for c in self.COLS
        }
        if entity is None:
            entity = np.arange(self.next_entity, self.next_entity + n)
        chunk["entity"] = np.asarray(entity, dtype="int64")
        self.next_entity = max(self.next_entity, int(chunk["entity"].max(initial=-1)) + 1)
        self.chunks.append(chunk)
        idx = np.arange(self.size, self.size + n)
        self.size += n
        return idx

    def new_entities(self, n: int) -> np.ndarray:
        ids = np.arange(self.next_entity, self.next_entity + n)
        self.next_entity += n
        return ids

    def table(self) -> dict[str, np.ndarray]:
        return {c: np.concatenate([ch[c] for ch in self.chunks]) for c in (*self.COLS, "entity")}


def _addresses(
    pool: _Pool, country: str, n: int, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    street = pool.street[rng.integers(0, len(pool.street), n)]
    number = rng.integers(1, 200, n).astype(str).astype(object)
    suffix = np.where(rng.random(n) < 0.1, _LETTERS[rng.integers(0, 6, n)].astype(object), "")
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
        phone[sel] = _template(PHONE_FORMATS.get(country, "+44 7### ######"), len(sel), rng)
    phone[rng.random(n) >= phone_p] = None
    local = _ascii_lower(np.array([s.split()[0] if s else "x" for s in names], dtype=object))
    family = _ascii_lower(np.array([s.split()[-1] if s else "x" for s in names], dtype=object))
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


@dataclass
class GenerationContext:
    """Shared state of one generation run: pools, party tables, populations and the time axis.

    Pattern functions take it to draw parties and timestamps; it is not a stable public API.
    """

    pools: dict[str, _Pool]
    start_us: int
    days: int
    day_p: np.ndarray
    senders: _Parties = field(default_factory=_Parties)
    recipients: _Parties = field(default_factory=_Parties)
    consumers: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype="int64"))
    consumer_p: np.ndarray = field(default_factory=lambda: np.zeros(0))
    businesses: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype="int64"))
    vocab: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    illicit_sender_entities: dict[str, list[int]] = field(default_factory=dict)
    illicit_recipient_entities: dict[str, list[int]] = field(default_factory=dict)

    # -- time ---------------------------------------------------------------------------------
    def times(self, rng: np.random.Generator, n: int, day: np.ndarray | None = None) -> np.ndarray:
        """Timestamps (µs since epoch): days by the volume profile (or given), hours by arrivals."""
        if day is None:
            day = rng.choice(self.days, size=n, p=self.day_p)
        # manifests arrive with flights: peaks early morning and afternoon
        hour = (
            np.where(rng.random(n) < 0.55, rng.normal(6.5, 2.0, n), rng.normal(15.0, 3.0, n)) % 24
        )
        sec = (hour * 3600).astype("int64")
        return self.start_us + day.astype("int64") * _DAY_US + sec * _US

    # -- parties ------------------------------------------------------------------------------
    def consumer(self, rng: np.random.Generator, n: int, *, uniform: bool = False) -> np.ndarray:
        """Recipient rows of persistent consumers (activity-weighted, or uniform)."""
        if uniform:
            return self.consumers[rng.integers(0, len(self.consumers), n)]
        return self.consumers[rng.choice(len(self.consumers), size=n, p=self.consumer_p)]

    def one_off_recipients(self, rng: np.random.Generator, n: int) -> np.ndarray:
        countries = _mix(rng, RECIPIENT_COUNTRY_MIX, n)
        people = _people(self.pools, countries, rng)
        people["phone"], people["email"] = _contacts(people["name"], countries, rng, 0.5, 0.4)
        return self.recipients.add(people)

    def new_senders(
        self, rng: np.random.Generator, countries: np.ndarray, company: float
    ) -> np.ndarray:
        return self.senders.add(_people(self.pools, countries, rng, company=company))

    def text(self, key: str, rng: np.random.Generator, n: int) -> np.ndarray:
        variants, p = self.vocab[key]
        return variants[rng.choice(len(variants), size=n, p=p)]


def _build_context(
    seed_seq: np.random.SeedSequence,
    pools: dict[str, _Pool],
    start_us: int,
    days: int,
    rows: int,
    day_weights: Sequence[float] | None,
) -> GenerationContext:
    rng = np.random.default_rng(seed_seq)
    weekday0 = datetime.fromtimestamp(start_us / _US).weekday()
    profile = np.array(
        [(1.0, 1.0, 1.0, 1.0, 1.0, 0.6, 0.35)[(weekday0 + d) % 7] for d in range(days)]
    )
    if day_weights is not None:
        if len(day_weights) != days:
            raise ValueError(f"day_weights has {len(day_weights)} entries for {days} days")
        profile = profile * np.asarray(day_weights, dtype="float64")
    ctx = GenerationContext(
        pools=pools, start_us=start_us, days=days, day_p=profile / profile.sum()
    )
    for key, goods in GOODS.items():
        ctx.vocab[key] = _text_variants(goods.terms, rng)
    ctx.vocab["vague"] = _text_variants(VAGUE_ECOMMERCE_TERMS, rng)
    # persistent consumers: heavy-tailed activity (Zipf-like), some households and parcel lockers
    n_cons = max(800, rows // 4)
    countries = _mix(rng, RECIPIENT_COUNTRY_MIX, n_cons)
    people = _people(pools, countries, rng)
    share = rng.random(n_cons) < 0.1  # household members at the same address
    src = rng.integers(0, n_cons, int(share.sum()))
    for key in ("address", "city", "postcode", "country"):
        people[key][share] = people[key][src]
    locker = (people["country"] == "DE") & (rng.random(n_cons) < 0.06)
    n_lockers = max(5, n_cons // 400)
    locker_id = rng.integers(0, n_lockers, int(locker.sum()))
    locker_no = (100 + np.arange(n_lockers) * 7).astype(str).astype(object)
    locker_city = pools["DE"].city[np.arange(n_lockers) % len(pools["DE"].city)]
    locker_pc = _postcodes("DE", n_lockers, rng)
    people["address"][locker] = "Packstation " + locker_no[locker_id]
    people["city"][locker] = locker_city[locker_id]
    people["postcode"][locker] = locker_pc[locker_id]
    people["phone"], people["email"] = _contacts(people["name"], people["country"], rng, 0.75, 0.65)
    ctx.consumers = ctx.recipients.add(people)
    activity = np.exp(1.3 * rng.standard_normal(n_cons))
    ctx.consumer_p = activity / activity.sum()
    # EU businesses (e-shops taking returns, laboratories, importers)
    n_bus = max(150, rows // 300)
    bcountries = _mix(rng, RECIPIENT_COUNTRY_MIX, n_bus)
    biz = _people(pools, bcountries, rng, company=1.0)
    biz["phone"], biz["email"] = _contacts(biz["name"], bcountries, rng, 0.9, 0.8)
    ctx.businesses = ctx.recipients.add(biz)
    return ctx


# ================================================================================================
# Blocks of rows
# ================================================================================================

_BLOCK_KEYS = (
    "ts",
    "sender",
    "recipient",
    "origin",
    "desc",
    "hs",
    "value_eur",
    "weight",
    "qty",
    "category",
    "express",
    "service",
    "currency",
    "pattern",
    "conceal",
)


def _block(n: int, pattern: str, **cols: Any) -> dict[str, np.ndarray]:
    """A block of ``n`` rows; scalars are broadcast, missing optional columns default."""
    out: dict[str, np.ndarray] = {}
    defaults = {"hs": None, "service": None, "currency": None, "express": False, "qty": 1.0}
    for key in _BLOCK_KEYS:
        if key == "pattern":
            out[key] = np.full(n, _PATTERNS.index(pattern), dtype="int8")
        elif key == "conceal":
            out[key] = np.full(n, CONCEALMENT_FACTOR.get(pattern, 1.0))
        else:
            val = cols.get(key, defaults.get(key))
            arr = (
                np.asarray(val)
                if not np.isscalar(val) and val is not None
                else np.full(n, val, dtype=object)
            )
            if arr.shape == ():
                arr = np.full(n, arr.item())
            out[key] = arr
    for key in ("sender", "recipient"):
        out[key] = out[key].astype("int64")
    out["express"] = out["express"].astype(bool)
    return out


def _goods(
    ctx: GenerationContext, rng: np.random.Generator, kinds: np.ndarray
) -> dict[str, np.ndarray]:
    """Description, HS code (6-10 digits), value (EUR), weight (kg), quantity per goods type."""
    n = len(kinds)
    desc = np.empty(n, dtype=object)
    hs = np.empty(n, dtype=object)
    value = np.empty(n)
    weight = np.empty(n)
    qty = np.empty(n)
    for kind in np.unique(kinds):
        sel = np.flatnonzero(kinds == kind)
        g = GOODS[kind]
        k = len(sel)
        desc[sel] = ctx.text(kind, rng, k)
        hs[sel] = np.array(g.hs, dtype=object)[rng.integers(0, len(g.hs), k)]
        value[sel] = _lognormal(rng, g.value_eur[0], g.value_eur[1], k)
        weight[sel] = _lognormal(rng, g.weight_kg[0], g.weight_kg[1], k)
        qty[sel] = rng.integers(1, g.max_qty + 1, k)
    # extend to 8 or 10 digits (national tariff subdivisions) for some
    ext = rng.random(n)
    short = np.array([len(h) == 6 for h in hs])
    hs = np.where(short & (ext < 0.2), hs + "00", hs)
    hs = np.where(short & (ext > 0.9), hs + _template("####", n, rng), hs)
    return {"desc": desc, "hs": hs, "value_eur": value, "weight": weight, "qty": qty}


def _currency(
    rng: np.random.Generator, countries: np.ndarray, usd: float, eur: float
) -> np.ndarray:
    """Declared currency: USD (marketplaces), EUR (IOSS sellers) or the sender's local currency."""
    n = len(countries)
    local = np.array([COUNTRY_CURRENCY.get(c, "USD") for c in countries], dtype=object)
    u = rng.random(n)
    return np.where(u < usd, "USD", np.where(u < usd + eur, "EUR", local)).astype(object)


@dataclass
class _Shops:
    """A population of merchants: sender rows, origin (ship-from), goods type, channel, weights."""

    sender: np.ndarray
    country: np.ndarray
    origin: np.ndarray
    kind: np.ndarray
    express_p: np.ndarray
    p: np.ndarray


def _shops(
    ctx: GenerationContext,
    rng: np.random.Generator,
    n: int,
    origin_mix: Mapping[str, float],
    goods_mix: Mapping[str, float],
    company: float = 0.9,
    reship: float = 0.05,
) -> _Shops:
    countries = _mix(rng, origin_mix, n)
    sender = ctx.new_senders(rng, countries, company)
    origin = countries.copy()
    # consolidators / forwarders: CN sellers posting through HK, SG or MY; US/CA sellers via GB
    moved = rng.random(n) < reship
    cn = moved & np.isin(countries, ["CN", "HK"])
    origin[cn] = np.array(["HK", "SG", "MY"], dtype=object)[rng.integers(0, 3, int(cn.sum()))]
    origin[cn & (countries == "HK")] = "CN"
    west = moved & np.isin(countries, ["US", "CA", "AU"])
    origin[west] = "GB"
    express_p = np.where(rng.random(n) < 0.2, 0.85, 0.03)
    activity = np.exp(1.2 * rng.standard_normal(n))
    return _Shops(
        sender, countries, origin, _mix(rng, goods_mix, n), express_p, activity / activity.sum()
    )


def _shop_rows(
    ctx: GenerationContext,
    rng: np.random.Generator,
    n: int,
    shops: _Shops,
    pattern: str = "legit",
    *,
    business_recipients: float = 0.0,
    vague_share: float = VAGUE_ECOMMERCE_SHARE,
    split_share: float = 0.04,
    undervalue: float = 0.04,
    goods_mix: Mapping[str, float] | None = None,
) -> dict[str, np.ndarray]:
    """Orders from a merchant population, some split into 2-3 parcels sent the same day."""
    n_lead = n - int(n * split_share * 0.6)
    shop = rng.choice(len(shops.p), size=n_lead, p=shops.p)
    kinds = np.where(
        rng.random(n_lead) < 0.75,
        shops.kind[shop],
        _mix(rng, goods_mix or ECOMMERCE_GOODS_MIX, n_lead),
    )
    g = _goods(ctx, rng, kinds)
    vague = rng.random(n_lead) < vague_share
    g["desc"][vague] = ctx.text("vague", rng, int(vague.sum()))
    under = np.isin(shops.country[shop], ["CN", "HK"]) & (rng.random(n_lead) < undervalue)
    g["value_eur"][under] *= rng.uniform(0.05, 0.3, int(under.sum()))
    recipient = ctx.consumer(rng, n_lead)
    to_biz = rng.random(n_lead) < business_recipients
    recipient[to_biz] = ctx.businesses[rng.integers(0, len(ctx.businesses), int(to_biz.sum()))]
    ts = ctx.times(rng, n_lead)
    express = rng.random(n_lead) < shops.express_p[shop]
    cols = {
        "ts": ts,
        "sender": shops.sender[shop],
        "recipient": recipient,
        "origin": shops.origin[shop],
        "express": express,
        **g,
    }
    # split orders: followers copy a leader's merchant, recipient and day; 35% identical weight
    n_follow = n - n_lead
    if n_follow:
        lead = rng.integers(0, n_lead, n_follow)
        fk = kinds[lead]
        fg = _goods(ctx, rng, fk)
        same_w = rng.random(n_follow) < 0.35
        fg["weight"][same_w] = g["weight"][lead][same_w]
        follow = {
            "ts": ts[lead] + rng.integers(0, 3 * 3600, n_follow) * _US,
            "sender": cols["sender"][lead],
            "recipient": recipient[lead],
            "origin": cols["origin"][lead],
            "express": express[lead],
            **fg,
        }
        cols = {k: np.concatenate([cols[k], follow[k]]) for k in cols}
        kinds = np.concatenate([kinds, fk])
    cur = _currency(
        rng, shops.country[np.concatenate([shop, shop[lead]]) if n_follow else shop], 0.45, 0.3
    )
    return _block(n, pattern, category="sale_of_goods", currency=cur, **cols)


# ================================================================================================
# Legitimate flows
# ================================================================================================


def _legit_blocks(
    ctx: GenerationContext, seed_seq: np.random.SeedSequence, n: int, rows: int
) -> list[dict[str, np.ndarray]]:
    names = list(LEGIT_SHARES)
    counts = {k: int(n * LEGIT_SHARES[k]) for k in names}
    counts["ecommerce"] += n - sum(counts.values())
    rngs = dict(
        zip(names, (np.random.default_rng(s) for s in seed_seq.spawn(len(names))), strict=True)
    )
    blocks = []
    scale = max(1.0, rows / 1000)

    r = rngs["ecommerce"]
    shops = _shops(ctx, r, int(40 * scale**0.8) + 60, ECOMMERCE_ORIGIN_MIX, ECOMMERCE_GOODS_MIX)
    blocks.append(_shop_rows(ctx, r, counts["ecommerce"], shops))

    for name, mix, kind, biz, company in (
        ("supplements", SUPPLEMENT_ORIGIN_MIX, "supplements", 0.0, 0.95),
        ("food", FOOD_ORIGIN_MIX, "food", 0.05, 0.8),
        ("chemicals", CHEMICAL_ORIGIN_MIX, "chemicals", 0.5, 1.0),
        ("medicines", MEDICINE_ORIGIN_MIX, "medicines", 0.2, 0.9),
    ):
        r = rngs[name]
        k = counts[name]
        if k == 0:
            continue
        pop = _shops(ctx, r, max(5, int(k / 25)), mix, {kind: 1.0}, company=company, reship=0.03)
        blocks.append(
            _shop_rows(
                ctx,
                r,
                k,
                pop,
                business_recipients=biz,
                vague_share=0.02,
                split_share=0.02,
                undervalue=0.0,
                goods_mix={kind: 1.0},
            )
        )

    # gifts between private persons: recurring senders, heavy family parcels, values near EUR 45
    r, k = rngs["gift"], counts["gift"]
    senders = ctx.new_senders(r, _mix(r, GIFT_ORIGIN_MIX, max(10, k // 2)), company=0.0)
    s = senders[r.integers(0, len(senders), k)]
    g = _goods(ctx, r, np.full(k, "gift", dtype=object))
    near = r.random(k) < 0.4
    g["value_eur"][near] = r.uniform(15, 45, int(near.sum()))
    g["hs"][r.random(k) < 0.7] = None
    origin = ctx.senders.chunks[-1]["country"][s - senders[0]]
    blocks.append(
        _block(
            k,
            "legit",
            ts=ctx.times(r, k),
            sender=s,
            recipient=ctx.consumer(r, k, uniform=True),
            origin=origin,
            category="gift",
            express=r.random(k) < 0.08,
            currency=_currency(r, origin, 0.1, 0.2),
            **g,
        )
    )

    # documents: business and private correspondence, letters or express envelopes
    r, k = rngs["documents"], counts["documents"]
    origin = _mix(r, DOCUMENT_ORIGIN_MIX, k)
    pop = ctx.new_senders(r, _mix(r, DOCUMENT_ORIGIN_MIX, max(10, k // 3)), company=0.6)
    table_country = ctx.senders.chunks[-1]["country"]
    pick = r.integers(0, len(pop), k)
    s, origin = pop[pick], table_country[pick]
    g = _goods(ctx, r, np.full(k, "documents", dtype=object))
    g["value_eur"] = np.where(r.random(k) < 0.6, 0.0, np.round(g["value_eur"], 0))
    g["weight"] = np.clip(g["weight"], 0.005, 1.5)
    g["hs"][r.random(k) < 0.85] = None
    recipient = np.where(
        r.random(k) < 0.5, ctx.consumer(r, k), ctx.businesses[r.integers(0, len(ctx.businesses), k)]
    )
    express = r.random(k) < 0.4
    blocks.append(
        _block(
            k,
            "legit",
            ts=ctx.times(r, k),
            sender=s,
            recipient=recipient,
            origin=origin,
            category="documents",
            express=express,
            service=np.where(express, None, "letter"),
            currency=_currency(r, origin, 0.3, 0.2),
            **g,
        )
    )

    # returns to EU shops
    r, k = rngs["returns"], counts["returns"]
    origin = _mix(r, RETURN_ORIGIN_MIX, k)
    s = ctx.new_senders(r, origin, company=0.0)
    g = _goods(ctx, r, np.full(k, "returns", dtype=object))
    own = r.random(k) < 0.4  # described as the goods themselves
    g2 = _goods(ctx, r, _mix(r, {"apparel": 0.6, "electronics": 0.3, "jewellery": 0.1}, k))
    g["desc"][own] = g2["desc"][own]
    blocks.append(
        _block(
            k,
            "legit",
            ts=ctx.times(r, k),
            sender=s,
            recipient=ctx.businesses[r.integers(0, len(ctx.businesses), k)],
            origin=origin,
            category="returned_goods",
            express=r.random(k) < 0.25,
            currency=_currency(r, origin, 0.05, 0.4),
            **g,
        )
    )

    # B2B commercial samples
    r, k = rngs["samples"], counts["samples"]
    pop = _shops(
        ctx, r, max(5, k // 8), SAMPLE_ORIGIN_MIX, {"samples": 1.0}, company=1.0, reship=0.0
    )
    pop.express_p[:] = 0.6
    blocks.append(
        _block(
            k,
            "legit",
            category="commercial_sample",
            **{
                k2: v
                for k2, v in _shop_rows(
                    ctx,
                    r,
                    k,
                    pop,
                    business_recipients=0.9,
                    vague_share=0.0,
                    split_share=0.0,
                    undervalue=0.0,
                    goods_mix={"samples": 1.0},
                ).items()
                if k2
                in (
                    "ts",
                    "sender",
                    "recipient",
                    "origin",
                    "desc",
                    "hs",
                    "value_eur",
                    "weight",
                    "qty",
                    "express",
                    "currency",
                )
            },
        )
    )
    return blocks


# ================================================================================================
# Illicit patterns
# ================================================================================================

#: Countries outside the EU named as bases of darknet vendors shipping into the EU by post
#: (EMCDDA/Europol "Drugs and the darknet", 2017; "EU Drug Markets: Cocaine", 2022).
DARKNET_ORIGINS: dict[str, float] = {
    "GB": 0.35, "US": 0.2, "CA": 0.1, "CH": 0.1, "CO": 0.07, "TH": 0.06, "NO": 0.05, "BR": 0.07,
}  # fmt: skip
#: Cover descriptions of darknet letters (same source: "stealth" packaging as letters and cards).
DARKNET_COVERS = (
    "documents",
    "greeting card",
    "cosmetics",
    "tea",
    "gift",
    "letter",
    "photos",
    "papers",
    "sample",
    "stickers",
    "birthday card",
    "jewellery",
)
_COVER_KIND = {
    "documents": "documents",
    "greeting card": "documents",
    "letter": "documents",
    "photos": "documents",
    "papers": "documents",
    "birthday card": "documents",
    "cosmetics": "beauty", "tea": "food", "gift": "gift", "sample": "samples", "stickers": "toys",
    "jewellery": "jewellery",
}  # fmt: skip


def _mismatch_postcodes(
    ctx: GenerationContext, rng: np.random.Generator, rows: np.ndarray, share: float
) -> None:
    """Give a share of freshly added sender rows a postcode in another country's format."""
    table = ctx.senders.chunks[-1]
    base = rows[0]
    hit = rows[rng.random(len(rows)) < share]
    others = np.array(["DE", "US", "GB", "NL", "PL", "CA"], dtype=object)
    for i in hit:
        j = i - base
        fmt_country = others[rng.integers(0, len(others))]
        if fmt_country == table["country"][j]:
            fmt_country = "NL"
        table["postcode"][j] = _postcodes(str(fmt_country), 1, rng)[0]


def _vendor_identities(
    ctx: GenerationContext,
    rng: np.random.Generator,
    countries: np.ndarray,
    company: float,
    n_variants: int,
    entity: np.ndarray,
    mismatch: float,
) -> np.ndarray:
    """(vendors, n_variants) sender rows: a base identity and its spelling variations."""
    base = _people(ctx.pools, countries, rng, company=company)
    cols: dict[str, list[Any]] = {c: [] for c in ("name", "address", "city", "postcode", "country")}
    ent = []
    for v in range(len(countries)):
        names = _name_variants(str(base["name"][v]), rng, n_variants)
        addrs = _name_variants(str(base["address"][v]), rng, n_variants)
        names += [names[0]] * (n_variants - len(names))
        addrs += [addrs[0]] * (n_variants - len(addrs))
        for k in range(n_variants):
            cols["name"].append(names[k])
            cols["address"].append(addrs[k] if k % 2 else base["address"][v])
            cols["city"].append(str(base["city"][v]).upper() if k == 3 else base["city"][v])
            cols["postcode"].append(base["postcode"][v])
            cols["country"].append(base["country"][v])
            ent.append(entity[v])
    rows = ctx.senders.add({k: np.array(v, dtype=object) for k, v in cols.items()}, np.array(ent))
    if mismatch:
        _mismatch_postcodes(ctx, rng, rows, mismatch)
    return rows.reshape(len(countries), n_variants)


def darknet_vendor(
    ctx: GenerationContext,
    rng: np.random.Generator,
    n: int,
    *,
    items_per_vendor: float = 35.0,
    origins: Mapping[str, float] = DARKNET_ORIGINS,
    covers: Sequence[str] = DARKNET_COVERS,
    weight_g: tuple[float, float] = (15.0, 100.0),
    active_share: tuple[float, float] = (0.25, 0.9),
    drift_share: float = 0.3,
    variation_rate: float = 0.35,
    postcode_mismatch: float = 0.15,
    letter_share: float = 0.7,
) -> dict[str, np.ndarray]:
    """Darknet-market vendors posting light letters and small packets to many buyers.

    Source: EMCDDA/Europol, *Drugs and the darknet: perspectives for enforcement, research and
    policy* (2017) and *EU Drug Markets: New psychoactive substances* (2024): vendors ship small
    quantities (grams) by post in "stealth" packaging (letters, greeting cards, cosmetics), to many
    distinct buyers; they appear and disappear, and change identity details and shipping country.

    Parameters
    ----------
    items_per_vendor : mean items per vendor (the number of vendors is ``n / items_per_vendor``).
    origins, covers : origin mix and cover descriptions (two covers per vendor and phase).
    weight_g : uniform weight range in grams.
    active_share : range of the share of the period a vendor is active.
    drift_share : share of vendors that switch origin country or cover story part-way.
    variation_rate : share of items sent under a variation of the vendor's name or address.
    postcode_mismatch : share of vendor identities with a postcode of another country's format.
    letter_share : share sent as letters (the rest small packets; 5% by express).
    """
    n_v = max(1, round(n / items_per_vendor))
    entity = ctx.senders.new_entities(n_v)
    ctx.illicit_sender_entities.setdefault("darknet_vendor", []).extend(entity.tolist())
    origin = np.stack([_mix(rng, origins, n_v), _mix(rng, origins, n_v)], axis=1)
    drift = rng.random(n_v) < drift_share
    switch_origin = drift & (rng.random(n_v) < 0.5)
    origin[~switch_origin, 1] = origin[~switch_origin, 0]
    ident = np.stack(
        [
            _vendor_identities(ctx, rng, origin[:, 0], 0.3, 5, entity, postcode_mismatch),
            _vendor_identities(ctx, rng, origin[:, 1], 0.3, 5, entity, postcode_mismatch),
        ],
        axis=1,
    )  # (vendor, phase, variant)
    ident[~switch_origin, 1] = ident[~switch_origin, 0]
    cover_arr = np.array(covers, dtype=object)
    cover = cover_arr[rng.integers(0, len(covers), (n_v, 2, 2))]
    keep_cover = ~drift | switch_origin
    cover[keep_cover, 1] = cover[keep_cover, 0]
    length = rng.uniform(*active_share, n_v) * ctx.days
    begin = rng.uniform(0, ctx.days - length)
    change = begin + rng.uniform(0.3, 0.7, n_v) * length
    weights = np.exp(0.8 * rng.standard_normal(n_v))
    vendor = rng.choice(n_v, size=n, p=weights / weights.sum())
    day_f = begin[vendor] + rng.random(n) * length[vendor]
    ts = ctx.times(rng, n, np.minimum(np.floor(day_f), ctx.days - 1))
    phase = (day_f >= change[vendor]) & drift[vendor]
    variant = np.where(rng.random(n) < variation_rate, rng.integers(1, 5, n), 0)
    sender = ident[vendor, phase.astype(int), variant]
    chosen = cover[vendor, phase.astype(int), rng.integers(0, 2, n)]
    desc = np.empty(n, dtype=object)
    kinds = np.array([_COVER_KIND[c] for c in chosen], dtype=object)
    for c in np.unique(chosen):
        sel = chosen == c
        desc[sel] = _text_variants([str(c)], rng)[0][
            rng.choice(5, int(sel.sum()), p=[0.5, 0.22, 0.12, 0.1, 0.06])
        ]
    category = np.where(
        kinds == "documents", "documents", np.where(rng.random(n) < 0.6, "gift", "sale_of_goods")
    )
    value = np.where(
        category == "documents",
        np.where(rng.random(n) < 0.6, 0.0, rng.uniform(1, 10, n)),
        rng.uniform(5, 30, n),
    )
    hs = np.full(n, None, dtype=object)
    hs_kind = rng.random(n) < 0.2
    for k in np.unique(kinds[hs_kind]):
        sel = hs_kind & (kinds == k)
        hs[sel] = np.array(GOODS[k].hs, dtype=object)[
            rng.integers(0, len(GOODS[k].hs), int(sel.sum()))
        ]
    express = rng.random(n) < 0.05
    service = np.where(
        express, None, np.where(rng.random(n) < letter_share, "letter", "small_packet")
    )
    table = ctx.senders.table()["country"]
    org = table[sender]
    return _block(
        n,
        "darknet_vendor",
        ts=ts,
        sender=sender,
        recipient=ctx.consumer(rng, n, uniform=True),
        origin=org,
        desc=desc,
        hs=hs,
        value_eur=value,
        weight=rng.uniform(*weight_g, n) / 1000,
        qty=1.0,
        category=category,
        express=express,
        service=service,
        currency=_currency(rng, org, 0.2, 0.2),
    )


#: NPS / precursor source countries (EMCDDA/Europol "EU Drug Markets: NPS" 2024; INCB
#: Precursors Report 2024).
NPS_ORIGINS: dict[str, float] = {
    "CN": 0.5, "IN": 0.25, "HK": 0.1, "US": 0.05, "GB": 0.05, "TR": 0.05,
}  # fmt: skip
NPS_COVERS = (
    "plant food",
    "bath salts",
    "research chemicals",
    "reagent",
    "laboratory chemicals",
    "incense",
    "fertilizer",
    "cleaning agent",
    "chemical sample",
    "powder",
    "pigment",
)
#: HS codes that do not match a chemical description (cosmetics, supplements, tea, plastics,
#: stationery) or, for "plant food", organic chemicals of chapter 29.
NPS_MISMATCH_HS = (
    "330499",
    "330730",
    "210690",
    "090230",
    "392690",
    "482090",
    "293399",
    "292249",
    "291639",
)


def nps_precursor(
    ctx: GenerationContext,
    rng: np.random.Generator,
    n: int,
    *,
    origins: Mapping[str, float] = NPS_ORIGINS,
    covers: Sequence[str] = NPS_COVERS,
    items_per_shipper: float = 12.0,
    hs_mismatch: float = 0.6,
    express_share: float = 0.4,
    value_eur_per_kg: tuple[float, float] = (15.0, 0.6),
    weight_kg: tuple[float, float] = (0.25, 0.9),
    postcode_mismatch: float = 0.2,
) -> dict[str, np.ndarray]:
    """New psychoactive substances and drug precursors mislabelled as harmless chemicals.

    Source: EMCDDA/Europol, *EU Drug Markets: New psychoactive substances* (2024): NPS are bought
    in bulk from chemical companies mainly in China and India and sent by post or express,
    labelled "plant food", "bath salts", "research chemicals"; INCB, *Precursors* report (2024):
    non-scheduled precursors and "designer" precursors declared under wrong HS codes.

    Parameters
    ----------
    items_per_shipper : mean items per (fake) chemical company.
    hs_mismatch : share with an HS code that does not match the description (else matching or none).
    express_share : share sent by express couriers.
    value_eur_per_kg : log-normal median and sigma of the declared value per kg (low).
    weight_kg : log-normal median and sigma of the gross weight.
    postcode_mismatch : share of shipper identities with another country's postcode format.
    """
    n_s = max(1, round(n / items_per_shipper))
    entity = ctx.senders.new_entities(n_s)
    ctx.illicit_sender_entities.setdefault("nps_precursor", []).extend(entity.tolist())
    ident = _vendor_identities(ctx, rng, _mix(rng, origins, n_s), 0.9, 3, entity, postcode_mismatch)
    shipper = rng.integers(0, n_s, n)
    sender = ident[shipper, np.where(rng.random(n) < 0.25, rng.integers(1, 3, n), 0)]
    org = ctx.senders.table()["country"][sender]
    variants, p = _text_variants(covers, rng)
    desc = variants[rng.choice(len(variants), n, p=p)]
    hs = np.array(GOODS["chemicals"].hs, dtype=object)[
        rng.integers(0, len(GOODS["chemicals"].hs), n)
    ]
    mis = rng.random(n) < hs_mismatch
    hs[mis] = np.array(NPS_MISMATCH_HS, dtype=object)[
        rng.integers(0, len(NPS_MISMATCH_HS), int(mis.sum()))
    ]
    hs[~mis & (rng.random(n) < 0.4)] = None
    weight = np.clip(_lognormal(rng, *weight_kg, n), 0.02, 5.0)
    value = weight * _lognormal(rng, *value_eur_per_kg, n)
    recipient = ctx.consumer(rng, n, uniform=True)
    fresh = rng.random(n) < 0.25
    recipient[fresh] = ctx.one_off_recipients(rng, int(fresh.sum()))
    category = _mix(rng, {"sale_of_goods": 0.6, "commercial_sample": 0.25, "gift": 0.15}, n)
    return _block(
        n,
        "nps_precursor",
        ts=ctx.times(rng, n),
        sender=sender,
        recipient=recipient,
        origin=org,
        desc=desc,
        hs=hs,
        value_eur=value,
        weight=weight,
        qty=rng.integers(1, 4, n).astype(float),
        category=category,
        express=rng.random(n) < express_share,
        currency=_currency(rng, org, 0.7, 0.1),
    )


RX_ORIGINS: dict[str, float] = {
    "IN": 0.45, "PK": 0.15, "SG": 0.15, "BD": 0.05, "HK": 0.1, "CN": 0.1,
}  # fmt: skip
RX_COVERS = (
    "vitamins",
    "food supplement",
    "herbal tea",
    "health product",
    "herbal supplement",
    "ayurvedic medicine",
    "dietary supplement",
    "herbal medicine",
    "multivitamin",
    "tea",
)
RX_HS = ("210690", "21069098", "210690", "090230", "121190", "130219")


def rx_as_supplement(
    ctx: GenerationContext,
    rng: np.random.Generator,
    n: int,
    *,
    origins: Mapping[str, float] = RX_ORIGINS,
    covers: Sequence[str] = RX_COVERS,
    items_per_shipper: float = 15.0,
    hs_missing: float = 0.3,
    weight_kg: tuple[float, float] = (0.12, 0.6),
    value_eur: tuple[float, float] = (15.0, 0.5),
) -> dict[str, np.ndarray]:
    """Prescription drugs (tramadol, benzodiazepines, opioids) declared as supplements or tea.

    Source: UNODC *World Drug Report 2024* (pharmaceutical opioids booklet: tramadol from South
    Asia by post); INCB annual report 2023 (internet pharmacies; postal seizures of
    benzodiazepines); WCO/Interpol Operation Pangea results: falsified and unlicensed medicines
    in small postal packets declared as food supplements (HS chapter 21).

    Parameters
    ----------
    items_per_shipper : mean items per (fake) online pharmacy.
    hs_missing : share without HS code (else chapter 21, 09 or 12/13 plant codes).
    weight_kg, value_eur : log-normal median and sigma.
    """
    n_s = max(1, round(n / items_per_shipper))
    entity = ctx.senders.new_entities(n_s)
    ctx.illicit_sender_entities.setdefault("rx_as_supplement", []).extend(entity.tolist())
    ident = _vendor_identities(ctx, rng, _mix(rng, origins, n_s), 0.6, 3, entity, 0.1)
    sender = ident[
        rng.integers(0, n_s, n), np.where(rng.random(n) < 0.25, rng.integers(1, 3, n), 0)
    ]
    org = ctx.senders.table()["country"][sender]
    variants, p = _text_variants(covers, rng)
    hs = np.array(RX_HS, dtype=object)[rng.integers(0, len(RX_HS), n)]
    hs[rng.random(n) < hs_missing] = None
    express = rng.random(n) < 0.15
    return _block(
        n,
        "rx_as_supplement",
        ts=ctx.times(rng, n),
        sender=sender,
        recipient=ctx.consumer(rng, n, uniform=True),
        origin=org,
        desc=variants[rng.choice(len(variants), n, p=p)],
        hs=hs,
        value_eur=_lognormal(rng, *value_eur, n),
        weight=np.clip(_lognormal(rng, *weight_kg, n), 0.02, 2),
        qty=rng.integers(1, 4, n).astype(float),
        category=_mix(rng, {"sale_of_goods": 0.6, "gift": 0.4}, n),
        express=express,
        service=np.where(express, None, np.where(rng.random(n) < 0.3, "letter", None)),
        currency=_currency(rng, org, 0.6, 0.1),
    )


CONCEALMENT_ORIGINS: dict[str, float] = {
    "CO": 0.15, "BR": 0.1, "PE": 0.08, "EC": 0.07, "US": 0.1, "GB": 0.1, "CA": 0.05, "TR": 0.1,
    "MX": 0.05, "TH": 0.05, "CN": 0.1, "ZA": 0.05,
}  # fmt: skip
CONCEALMENT_COVERS = (
    "speaker",
    "candles",
    "toys",
    "auto parts",
    "kitchen appliance",
    "statue",
    "books",
    "coffee machine",
    "ceramic vase",
    "tools",
    "picture frame",
    "handicrafts",
)
#: Light-goods descriptions used for items far too heavy for them.
LIGHT_COVERS = ("phone case", "T-shirt", "jewellery", "greeting card", "socks", "hair clips")


def concealment(
    ctx: GenerationContext,
    rng: np.random.Generator,
    n: int,
    *,
    origins: Mapping[str, float] = CONCEALMENT_ORIGINS,
    covers: Sequence[str] = CONCEALMENT_COVERS,
    light_share: float = 0.25,
    weight_kg: tuple[float, float] = (4.0, 0.5),
    value_eur: tuple[float, float] = (20.0, 0.5),
) -> dict[str, np.ndarray]:
    """Drugs hidden inside heavier goods; weight implausible for the description and value.

    Source: WCO *Illicit Trade Report* (drugs chapter, 2022) and EMCDDA/Europol *EU Drug
    Markets: Cocaine* (2022): cocaine and cannabis concealed in speakers, candles, toys, machine
    parts and handicrafts sent by post and express, often from South America.

    Parameters
    ----------
    light_share : share described as light goods (phone case, T-shirt) but weighing 1-3 kg.
    weight_kg, value_eur : log-normal median and sigma for the heavy covers.
    """
    org = _mix(rng, origins, n)
    sender = ctx.new_senders(rng, org, company=0.3)
    light = rng.random(n) < light_share
    desc = np.array(covers, dtype=object)[rng.integers(0, len(covers), n)]
    desc[light] = np.array(LIGHT_COVERS, dtype=object)[
        rng.integers(0, len(LIGHT_COVERS), int(light.sum()))
    ]
    case = rng.random(n)
    desc = np.where(
        case < 0.2,
        np.char.lower(desc.astype(str)).astype(object),
        np.where(case > 0.9, np.char.upper(desc.astype(str)).astype(object), desc),
    )
    weight = np.clip(_lognormal(rng, *weight_kg, n), 1.5, 20)
    weight[light] = rng.uniform(1.0, 3.0, int(light.sum()))
    hs = np.full(n, None, dtype=object)
    with_hs = rng.random(n) < 0.6
    all_hs = np.array(
        (
            "851822",
            "340600",
            "950300",
            "870899",
            "851679",
            "691390",
            "490199",
            "851672",
            "691390",
            "820590",
            "441400",
            "970300",
        ),
        dtype=object,
    )
    hs[with_hs] = all_hs[rng.integers(0, len(all_hs), int(with_hs.sum()))]
    recipient = ctx.consumer(rng, n, uniform=True)
    fresh = rng.random(n) < 0.4
    recipient[fresh] = ctx.one_off_recipients(rng, int(fresh.sum()))
    express = rng.random(n) < 0.4
    return _block(
        n,
        "concealment",
        ts=ctx.times(rng, n),
        sender=sender,
        recipient=recipient,
        origin=org,
        desc=desc,
        hs=hs,
        value_eur=_lognormal(rng, *value_eur, n),
        weight=weight,
        category=_mix(rng, {"gift": 0.5, "sale_of_goods": 0.5}, n),
        express=express,
        service=np.where(express, None, np.where(rng.random(n) < 0.7, "parcel", "ems")),
        currency=_currency(rng, org, 0.5, 0.1),
    )


DROP_SOURCE_ORIGINS: dict[str, float] = {
    "CN": 0.2, "US": 0.15, "GB": 0.15, "TR": 0.1, "IN": 0.1, "CA": 0.05, "TH": 0.05, "HK": 0.1,
    "CO": 0.05, "CH": 0.05,
}  # fmt: skip


def drop_address(
    ctx: GenerationContext,
    rng: np.random.Generator,
    n: int,
    *,
    items_per_drop: float = 25.0,
    names_per_drop: tuple[int, int] = (3, 7),
    origins: Mapping[str, float] = DROP_SOURCE_ORIGINS,
) -> dict[str, np.ndarray]:
    """A few drop addresses receiving many parcels from many senders under several names.

    Source: Europol *EU SOCTA* (2021) and EMCDDA/Europol *Drugs and the darknet* (2017):
    deliveries to "drop" addresses (vacant flats, complicit residents, letterboxes) under
    varying recipient names, to break the link between buyer and parcel.

    Parameters
    ----------
    items_per_drop : mean items per drop address.
    names_per_drop : range of distinct recipient names used at one address (each with variants).
    origins : where the parcels come from (many senders, one-off).
    """
    n_d = max(1, round(n / items_per_drop))
    entity = ctx.recipients.new_entities(n_d)
    ctx.illicit_recipient_entities.setdefault("drop_address", []).extend(entity.tolist())
    countries = _mix(rng, RECIPIENT_COUNTRY_MIX, n_d)
    homes = _people(ctx.pools, countries, rng)
    rows_per_drop = []
    for d in range(n_d):
        k = int(rng.integers(names_per_drop[0], names_per_drop[1] + 1))
        names = _people(ctx.pools, np.full(k, countries[d], dtype=object), rng)["name"]
        names = np.array([v for nm in names for v in _name_variants(str(nm), rng, 2)], dtype=object)
        m = len(names)
        phone, email = _contacts(names, np.full(m, countries[d], dtype=object), rng, 0.4, 0.5)
        rows = ctx.recipients.add(
            {
                "name": names,
                "address": np.full(m, homes["address"][d], dtype=object),
                "city": np.full(m, homes["city"][d], dtype=object),
                "postcode": np.full(m, homes["postcode"][d], dtype=object),
                "country": np.full(m, countries[d], dtype=object),
                "phone": phone,
                "email": email,
            },
            np.full(m, entity[d]),
        )
        rows_per_drop.append(rows)
    weights = np.exp(0.5 * rng.standard_normal(n_d))
    drop = rng.choice(n_d, size=n, p=weights / weights.sum())
    recipient = (
        np.array(
            [rows_per_drop[d][rng.integers(0, len(rows_per_drop[d]))] for d in drop], dtype="int64"
        )
        if n <= 5000
        else _pick_rows(rows_per_drop, drop, rng)
    )
    org = _mix(rng, origins, n)
    sender = ctx.new_senders(rng, org, company=0.5)
    kinds = _mix(
        rng,
        {"apparel": 0.3, "electronics": 0.25, "beauty": 0.15, "supplements": 0.15, "toys": 0.15},
        n,
    )
    g = _goods(ctx, rng, kinds)
    g["hs"][rng.random(n) < 0.3] = None
    return _block(
        n,
        "drop_address",
        ts=ctx.times(rng, n),
        sender=sender,
        recipient=recipient,
        origin=org,
        category=_mix(rng, {"sale_of_goods": 0.7, "gift": 0.3}, n),
        express=rng.random(n) < 0.2,
        currency=_currency(rng, org, 0.4, 0.3),
        **g,
    )


def _pick_rows(
    rows_per: list[np.ndarray], which: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    sizes = np.array([len(r) for r in rows_per])
    starts = np.array([r[0] for r in rows_per])  # rows of one entity are contiguous
    return starts[which] + (rng.random(len(which)) * sizes[which]).astype("int64")


SPLIT_ORIGINS: dict[str, float] = {
    "CN": 0.25, "HK": 0.1, "US": 0.15, "GB": 0.15, "TR": 0.1, "IN": 0.1, "CA": 0.05, "TH": 0.05,
    "CO": 0.05,
}  # fmt: skip


def split_shipment(
    ctx: GenerationContext,
    rng: np.random.Generator,
    n: int,
    *,
    group_size: tuple[int, int] = (2, 5),
    origins: Mapping[str, float] = SPLIT_ORIGINS,
    threshold_eur: float = 150.0,
    gift_threshold_eur: float = 45.0,
    gift_share: float = 0.3,
) -> dict[str, np.ndarray]:
    """A consignment split into same-weight items to one recipient on one day, under a threshold.

    Source: WCO *Illicit Trade Report* (2022) and UPU/WCO postal customs guidance: consignments
    split into several low-value items to stay under the EUR 150 duty relief (Regulation (EC)
    No 1186/2009 Art. 23) or the EUR 45 gift relief (Art. 25) and below inspection attention.

    Parameters
    ----------
    group_size : range of items per split consignment.
    threshold_eur, gift_threshold_eur : the thresholds each item stays under.
    gift_share : share of groups declared as gifts (then under ``gift_threshold_eur``).
    """
    sizes: list[int] = []
    while sum(sizes) < n:
        sizes.append(int(rng.integers(group_size[0], group_size[1] + 1)))
    sizes[-1] -= sum(sizes) - n
    sizes = [s for s in sizes if s > 0]
    g_n = len(sizes)
    group = np.repeat(np.arange(g_n), sizes)
    org = _mix(rng, origins, g_n)
    sender = ctx.new_senders(rng, org, company=0.5)
    recipient = ctx.consumer(rng, g_n, uniform=True)
    ts0 = ctx.times(rng, g_n)
    weight = np.round(rng.uniform(0.2, 1.8, g_n), 2)
    gift = rng.random(g_n) < gift_share
    cap = np.where(gift, gift_threshold_eur, threshold_eur)[group]
    value = cap * rng.uniform(0.65, 0.99, n)
    kinds = _mix(
        rng, {"apparel": 0.35, "supplements": 0.2, "electronics": 0.25, "beauty": 0.2}, g_n
    )[group]
    g = _goods(ctx, rng, kinds)
    g["hs"][rng.random(n) < 0.3] = None
    same_desc = g["desc"].copy()
    first = np.r_[0, np.cumsum(sizes)[:-1]]
    g["desc"] = np.where(rng.random(n) < 0.7, same_desc[first][group], same_desc)
    return _block(
        n,
        "split_shipment",
        ts=ts0[group] + rng.integers(0, 2 * 3600, n) * _US,
        sender=sender[group],
        recipient=recipient[group],
        origin=org[group],
        desc=g["desc"],
        hs=g["hs"],
        value_eur=value,
        weight=weight[group],
        qty=g["qty"],
        category=np.where(gift, "gift", "sale_of_goods")[group],
        express=(rng.random(g_n) < 0.2)[group],
        currency=_currency(rng, org[group], 0.5, 0.3),
    )


def no_red_flag(
    ctx: GenerationContext, rng: np.random.Generator, n: int, *, items_per_sender: float = 4.0
) -> dict[str, np.ndarray]:
    """Illicit items indistinguishable from ordinary e-commerce (no red flag at all).

    Source: EMCDDA/Europol *EU Drug Markets* (2024, "Key issues"): traffickers mimic legitimate
    e-commerce flows; a share of seizures comes only from intelligence or random controls.
    They are drawn with exactly the legitimate e-commerce generator.

    Parameters
    ----------
    items_per_sender : mean items per sender (senders look like ordinary small shops).
    """
    shops = _shops(
        ctx, rng, max(1, round(n / items_per_sender)), ECOMMERCE_ORIGIN_MIX, ECOMMERCE_GOODS_MIX
    )
    ctx.illicit_sender_entities.setdefault("no_red_flag", []).extend(
        ctx.senders.chunks[-1]["entity"].tolist()
    )
    return _shop_rows(ctx, rng, n, shops, "no_red_flag")


_PATTERN_FUNCS: dict[str, Callable[..., dict[str, np.ndarray]]] = {
    "darknet_vendor": darknet_vendor,
    "nps_precursor": nps_precursor,
    "rx_as_supplement": rx_as_supplement,
    "concealment": concealment,
    "drop_address": drop_address,
    "split_shipment": split_shipment,
    "no_red_flag": no_red_flag,
}

# ================================================================================================
# Assembly: services, operators, identifiers, routes, labels
# ================================================================================================


def _services(rng: np.random.Generator, b: dict[str, np.ndarray]) -> np.ndarray:
    n = len(b["weight"])
    w = b["weight"]
    u = rng.random(n)
    light = np.where(
        u < 0.1, "parcel", np.where(u < 0.15, "ems", np.where(u < 0.18, "letter", "small_packet"))
    )
    light = np.where((w <= 0.1) & (rng.random(n) < 0.3), "letter", light)
    heavy = np.where(u < 0.12, "ems", np.where(u > 0.995, "small_packet", "parcel"))
    postal = np.where(w <= 2.0, light, heavy)
    postal = np.where((b["category"] == "documents") & (w <= 2.0), "letter", postal)
    forced = b["service"]
    postal = np.where(pd.isna(forced), postal, forced)
    return np.where(b["express"], "express", postal).astype(object)


def _ids_and_operators(
    rng: np.random.Generator, origin: np.ndarray, service: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Item ids (S10 for posts, carrier formats for express), operator names and codes."""
    n = len(origin)
    express = service == "express"
    op = np.empty(n, dtype=object)
    code = np.empty(n, dtype=object)
    ids = np.empty(n, dtype=object)
    # postal: S10 = service letters + 8 digits + check digit + issuing country
    post = np.flatnonzero(~express)
    first = {"letter": "RL", "small_packet": "LUL", "parcel": "C", "ems": "E"}
    s = service[post]
    lead = np.empty(len(post), dtype=object)
    for svc, letters in first.items():
        sel = s == svc
        lead[sel] = np.array(list(letters), dtype=object)[
            rng.integers(0, len(letters), int(sel.sum()))
        ]
    serial = rng.integers(0, 100_000_000, len(post))
    ids[post] = (
        lead
        + _LETTERS[rng.integers(0, 26, len(post))].astype(object)
        + pd.Series(serial).astype(str).str.zfill(8).to_numpy(dtype=object)
        + s10_check_digit(serial).astype(str).astype(object)
        + origin[post]
    )
    for c in np.unique(origin[post]):
        sel = post[origin[post] == c]
        name, short = POSTAL_OPERATORS.get(str(c), (f"Post {c}", f"{c}PA"))
        op[sel], code[sel] = name, short
    # express: carrier tracking numbers
    ex = np.flatnonzero(express)
    p = np.array([c[3] for c in EXPRESS_CARRIERS])
    carrier = rng.choice(len(EXPRESS_CARRIERS), size=len(ex), p=p / p.sum())
    carrier = np.where((carrier == 3) & ~np.isin(origin[ex], ["CN", "HK"]), 0, carrier)
    for i, (name, short, fmt, _) in enumerate(EXPRESS_CARRIERS):
        sel = ex[carrier == i]
        k = len(sel)
        op[sel], code[sel] = name, short
        template = {
            "dhl": "##########",
            "ups": "1Z@@@###66########",
            "fedex": "############",
            "yun": "YT################",
        }[fmt]
        ids[sel] = _template(template, k, rng)
    return ids, op, code


def _dedupe_ids(
    rng: np.random.Generator, ids: np.ndarray, origin: np.ndarray, service: np.ndarray
) -> np.ndarray:
    for _ in range(20):
        dup = pd.Series(ids).duplicated().to_numpy()
        if not dup.any():
            return ids
        new, _, _ = _ids_and_operators(rng, origin[dup], service[dup])
        ids[dup] = new
    raise RuntimeError("could not make item ids unique")


def _routing(
    rng: np.random.Generator, origin: np.ndarray, dest: np.ndarray, express: np.ndarray
) -> np.ndarray:
    n = len(origin)
    hub = np.array(EXPRESS_HUBS, dtype=object)[rng.integers(0, len(EXPRESS_HUBS), n)]
    via = express & (rng.random(n) < 0.7) | (~express & (rng.random(n) < 0.15))
    hub = np.where(~express, np.array(["NL", "DE", "BE"], dtype=object)[rng.integers(0, 3, n)], hub)
    via &= (hub != origin) & (hub != dest)
    route = np.where(via, origin + "|" + hub + "|" + dest, origin + "|" + dest)
    route = np.where(origin == dest, origin, route)
    route[rng.random(n) < 0.15] = None
    return route


def _assemble(
    ctx: GenerationContext, blocks: list[dict[str, np.ndarray]], rng: np.random.Generator
) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    b = {k: np.concatenate([blk[k] for blk in blocks]) for k in _BLOCK_KEYS}
    n = len(b["ts"])
    order = np.lexsort((rng.permutation(n), b["ts"]))
    b = {k: v[order] for k, v in b.items()}
    s_tab, r_tab = ctx.senders.table(), ctx.recipients.table()
    # rounding as operators send it
    weight = np.round(np.clip(b["weight"], 0.001, 99.0), 3)
    weight = np.where(weight <= 0, 0.001, weight)
    currency = b["currency"]
    rate = pd.Series(currency).map(CURRENCY_EUR_RATES).to_numpy(dtype="float64")
    value = np.round(np.maximum(b["value_eur"], 0) * rate, 2)
    value = np.where(rate > 50, np.round(value, 0), value)
    service = _services(rng, {**b, "weight": weight})
    origin = b["origin"].astype(object)
    ids, op, op_code = _ids_and_operators(rng, origin, service)
    ids = _dedupe_ids(rng, ids, origin, service)
    hs = b["hs"].astype(object)
    hs[(service != "express") & (rng.random(n) < 0.25)] = None
    hs[(service == "express") & (rng.random(n) < 0.04)] = None
    day = (b["ts"] - ctx.start_us) // _DAY_US
    block = (b["ts"] % _DAY_US) // (6 * 3600 * _US)
    dstr = (
        pd.to_datetime(ctx.start_us + day * _DAY_US, unit="us")
        .strftime("%Y%m%d")
        .to_numpy(dtype=object)
    )
    manifest = op_code + "-" + dstr + "-" + block.astype(str).astype(object)
    dest = r_tab["country"][b["recipient"]]
    routing = _routing(rng, origin, dest, service == "express")
    cols = {
        M.item_id: ids,
        M.manifest_id: manifest,
        M.operator: op,
        M.service: service,
        M.declared_at: pd.to_datetime(b["ts"], unit="us", utc=True).astype("datetime64[us, UTC]"),
        M.sender_name: s_tab["name"][b["sender"]],
        M.sender_address: s_tab["address"][b["sender"]],
        M.sender_city: s_tab["city"][b["sender"]],
        M.sender_postcode: s_tab["postcode"][b["sender"]],
        M.sender_country: s_tab["country"][b["sender"]],
        M.recipient_name: r_tab["name"][b["recipient"]],
        M.recipient_address: r_tab["address"][b["recipient"]],
        M.recipient_city: r_tab["city"][b["recipient"]],
        M.recipient_postcode: r_tab["postcode"][b["recipient"]],
        M.recipient_country: dest,
        M.recipient_phone: r_tab["phone"][b["recipient"]],
        M.recipient_email: r_tab["email"][b["recipient"]],
        M.description: b["desc"],
        M.hs_code: hs,
        M.quantity: b["qty"].astype("float64"),
        M.declared_value: value,
        M.currency: currency,
        M.gross_weight_kg: weight,
        M.item_category: b["category"],
        M.origin_country: origin,
        M.routing_countries: routing,
    }
    frame = pd.DataFrame(
        {
            c: (pd.Series(v, dtype="str") if isinstance(v, np.ndarray) and v.dtype == object else v)
            for c, v in cols.items()
        }
    )
    for c in (M.quantity, M.declared_value, M.gross_weight_kg):
        frame[c] = frame[c].astype("float64")
    hidden = {
        "pattern": b["pattern"],
        "conceal": b["conceal"],
        "sender_entity": s_tab["entity"][b["sender"]],
        "recipient_entity": r_tab["entity"][b["recipient"]],
    }
    return frame[MANIFEST_COLUMNS], hidden


def _labels(
    frame: pd.DataFrame,
    hidden: dict[str, np.ndarray],
    ctx: GenerationContext,
    policy: LegacyPolicy,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Inspections as customs has them: random control > intelligence > rules > officer."""
    n = len(frame)
    illicit = hidden["pattern"] > 0
    hits = legacy_rule_hits(frame, policy.rules).to_numpy()
    probs = np.array([r.probability for r in policy.rules])
    rule = (
        (hits & (rng.random(hits.shape) < probs)).any(axis=1) if policy.rules else np.zeros(n, bool)
    )
    officer = rng.random(n) < policy.officer_discretion_rate
    random_ctl = rng.random(n) < policy.random_control_rate
    watched_s: list[int] = []
    for pat, share in (
        ("darknet_vendor", INTELLIGENCE["vendor_share"]),
        ("nps_precursor", 0.2),
        ("rx_as_supplement", 0.2),
    ):
        ents = np.array(ctx.illicit_sender_entities.get(pat, []), dtype="int64")
        watched_s += ents[rng.random(len(ents)) < share].tolist()
    all_s = np.unique(hidden["sender_entity"])
    watched_s += all_s[rng.random(len(all_s)) < INTELLIGENCE["false_share"]].tolist()
    drops = np.array(ctx.illicit_recipient_entities.get("drop_address", []), dtype="int64")
    watched_r = drops[rng.random(len(drops)) < INTELLIGENCE["drop_share"]]
    watched = np.isin(hidden["sender_entity"], watched_s) | np.isin(
        hidden["recipient_entity"], watched_r
    )
    intel = watched & (rng.random(n) < INTELLIGENCE["inspect_p"])
    source = np.full(n, None, dtype=object)
    for name, sel in (
        ("officer", officer),
        ("rule", rule),
        ("intelligence", intel),
        ("random", random_ctl),
    ):
        source[sel] = name
    inspected = source != None  # noqa: E711
    detect = pd.Series(source).map(DETECTION_PROBABILITY).fillna(0).to_numpy() * hidden["conceal"]
    seized = inspected & illicit & (rng.random(n) < detect)
    outcome = np.where(inspected, np.where(seized, "seizure", "no_finding"), None).astype(object)
    delay = (_DAY_US + rng.integers(0, 9 * _DAY_US, n)) // _US * _US
    at = frame[M.declared_at] + pd.to_timedelta(delay, unit="us")
    return pd.DataFrame(
        {
            L.inspected: inspected,
            L.selection_source: pd.Series(source, dtype="str"),
            L.inspected_at: at.where(inspected),
            L.outcome: pd.Series(outcome, dtype="str"),
        },
        index=frame.index,
    )


# ================================================================================================
# Public API
# ================================================================================================


def _start_us(start: str | date) -> int:
    day = date.fromisoformat(start) if isinstance(start, str) else start
    if isinstance(day, datetime):
        day = day.date()
    return int((day - date(1970, 1, 1)).days) * _DAY_US


def generate_manifest(
    rows: int,
    seed: int = 0,
    start: str | date = "2026-01-05",
    days: int = 28,
    *,
    labels: bool = True,
    truth: bool = True,
    illicit_rate: float = ILLICIT_RATE,
    pattern_shares: Mapping[str, float] | None = None,
    day_weights: Sequence[float] | None = None,
    policy_path: str | Path | None = None,
) -> pd.DataFrame:
    """A synthetic manifest of ``rows`` items over ``days`` days from ``start`` (UTC).

    Parameters
    ----------
    rows : number of items (exact).
    seed : random seed; the same seed gives the same frame (and the same file bytes).
    start, days : first day (``YYYY-MM-DD`` or a date) and number of days.
    labels : add the inspection columns (:class:`~parcelrisk.schema.LabelSchema`).
    truth : add ``truth_illicit`` and ``truth_pattern`` (evaluation only).
    illicit_rate : share of illicit items (default :data:`ILLICIT_RATE`).
    pattern_shares : share of each illicit pattern (default :data:`PATTERN_SHARES`).
    day_weights : relative volume of each day (multiplies the weekday profile).
    policy_path : legacy targeting policy (default ``features/legacy_targeting_rules.yaml``).

    Returns
    -------
    DataFrame sorted by ``declared_at`` (ties in a seeded random order), manifest columns in
    schema order, then label and truth columns. The labels and truth never change the manifest
    columns: the generator draws them from separate random streams.
    """
    if rows < 1 or days < 1:
        raise ValueError("rows and days must be positive")
    shares = dict(PATTERN_SHARES if pattern_shares is None else pattern_shares)
    unknown = set(shares) - set(_PATTERN_FUNCS)
    if unknown:
        raise ValueError(f"unknown illicit patterns: {sorted(unknown)}")
    total = sum(shares.values())
    root = np.random.SeedSequence(seed)
    s_ctx, s_legit, s_illicit, s_assemble, s_labels = root.spawn(5)
    ctx = _build_context(s_ctx, _pools(seed), _start_us(start), days, rows, day_weights)
    n_illicit = round(rows * illicit_rate)
    counts = {k: int(n_illicit * v / total) for k, v in shares.items()} if total > 0 else {}
    if counts:
        rest = n_illicit - sum(counts.values())
        for k in sorted(shares, key=shares.get, reverse=True)[:rest]:
            counts[k] += 1
    blocks = _legit_blocks(ctx, s_legit, rows - sum(counts.values()), rows)
    for (name, k), s in zip(counts.items(), s_illicit.spawn(len(counts)), strict=True):
        if k > 0:
            blocks.append(_PATTERN_FUNCS[name](ctx, np.random.default_rng(s), k))
    frame, hidden = _assemble(ctx, blocks, np.random.default_rng(s_assemble))
    parts = [frame]
    if labels:
        policy = load_legacy_policy(policy_path)
        parts.append(_labels(frame, hidden, ctx, policy, np.random.default_rng(s_labels)))
    if truth:
        parts.append(
            pd.DataFrame(
                {
                    T.truth_illicit: hidden["pattern"] > 0,
                    T.truth_pattern: pd.Series(
                        np.array(_PATTERNS, dtype=object)[hidden["pattern"]], dtype="str"
                    ),
                }
            )
        )
    return pd.concat(parts, axis=1) if len(parts) > 1 else frame


def write_manifest(df: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write CSV (UTF-8, ISO-8601 UTC timestamps) or Parquet, by extension, atomically.

    The file is written to a temporary file in the same folder and moved into place with
    :func:`os.replace`, so readers never see a half-written file.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".parquet", ".pq"):
        raise ValueError(f"{path}: unknown extension (use .csv or .parquet)")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; give the file the usual permissions
    try:
        if suffix == ".csv":
            out = df.copy()
            for col in out.columns:
                if isinstance(out[col].dtype, pd.DatetimeTZDtype):
                    out[col] = out[col].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
            out.to_csv(tmp, index=False, encoding="utf-8", lineterminator="\n")
        else:
            df.to_parquet(tmp, index=False, compression="zstd")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def rule_baselines(df: pd.DataFrame, capacity: float = 0.02) -> pd.DataFrame:
    """Precision and recall on ground truth of simple single rules (the baselines to beat).

    Rows: the vague-description matcher alone, each legacy rule alone, and the legacy policy as a
    whole ranked by :func:`~parcelrisk.legacy_rules.legacy_rule_score` at ``capacity`` (top share
    of items). Needs the truth columns.
    """
    from parcelrisk.legacy_rules import load_legacy_rules

    truth = df[T.truth_illicit].to_numpy(dtype=bool)
    rules = load_legacy_rules()
    flags: dict[str, np.ndarray] = {
        "vague description (PACT/ICS2) alone": vague_description(df[M.description]).to_numpy()
    }
    hits = legacy_rule_hits(df, rules)
    for r in rules:
        flags[f"rule: {r.name}"] = hits[r.name].to_numpy()
    flags["any legacy rule fires"] = hits.to_numpy().any(axis=1)
    score = legacy_rule_score(df, rules).to_numpy()
    k = max(1, math.ceil(capacity * len(df)))
    top = np.zeros(len(df), dtype=bool)
    top[np.argsort(-score, kind="stable")[:k]] = True
    flags[f"legacy policy, top {capacity:.0%} by score"] = top
    records = []
    for name, f in flags.items():
        tp = int((f & truth).sum())
        records.append(
            {
                "rule": name,
                "flagged": int(f.sum()),
                "flagged_share": f.mean(),
                "precision": tp / f.sum() if f.sum() else float("nan"),
                "recall": tp / truth.sum() if truth.sum() else float("nan"),
            }
        )
    return pd.DataFrame.from_records(records)


def make_sample(out_dir: str | os.PathLike[str], seed: int = SAMPLE_SEED) -> dict[str, Path]:
    """Regenerate the committed sample of ``data/synthetic/``.

    One run of 105,000 items over 57 days from 2026-01-05: the first 56 days (~100,000 items,
    labelled, with truth) are ``history.parquet``; day 57 (~4,400 items, a busy Monday at 2.4
    times a normal weekday) is ``manifest_today.csv`` without labels or truth, its truth in
    ``manifest_today_truth.csv``. Generating both from one run keeps vendors, drop addresses and
    consumers consistent between history and today.
    """
    out = Path(out_dir)
    days = 57
    weights = [1.0] * (days - 1) + [2.38]
    df = generate_manifest(105_000, seed=seed, start="2026-01-05", days=days, day_weights=weights)
    cut = pd.Timestamp("2026-01-05", tz="UTC") + timedelta(days=days - 1)
    today_mask = df[M.declared_at] >= cut
    history = df[~today_mask].reset_index(drop=True)
    today = df[today_mask].reset_index(drop=True)
    paths = {
        "history": write_manifest(history, out / "history.parquet"),
        "today": write_manifest(
            today.drop(columns=[*LABEL_COLUMNS, *TRUTH_COLUMNS]), out / "manifest_today.csv"
        ),
        "today_truth": write_manifest(
            today[[M.item_id, *TRUTH_COLUMNS]], out / "manifest_today_truth.csv"
        ),
    }
    return paths
