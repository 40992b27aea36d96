"""Goods vocabulary shared by legitimate and illicit items.

Every goods type has descriptions (English, and a few words in the sender's language), HS
codes, and declared value and weight distributions. Illicit items are described by drawing
from exactly these tables for their cover goods (a "bath salts" shipment of cathinones uses
the words, HS codes and spellings of real bath products), so no description or HS code belongs
to illicit traffic alone.

Sources of the words: WCO HS 2022 heading texts, and the wording of listings on large
marketplaces for each goods type, written for parcelrisk; typos are generated once with a
fixed seed, so the same misspellings recur in every world. This vocabulary is written
independently of ``features/keyword_groups.yaml`` (the feature side) and is much broader:
the features must find signal in it, not a copy of their own lists.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from parcelrisk.synthetic._util import typo


@dataclass(frozen=True)
class Goods:
    """A goods type: descriptions, HS codes, value (EUR) and weight (kg) as log-normal medians."""

    terms: tuple[str, ...]
    hs: tuple[str, ...]
    value_eur: tuple[float, float]  # log-normal median, sigma
    weight_kg: tuple[float, float]  # log-normal median, sigma
    max_qty: int = 3


# fmt: off
GOODS: dict[str, Goods] = {
    "apparel": Goods(
        ("T-shirt", "women dress", "hoodie", "socks", "clothes", "clothing", "jacket", "leggings",
         "sneakers", "shoes", "baseball cap", "jeans", "swimwear", "sweater", "cotton shirt",
         "sports bra", "kids clothing", "scarf", "gloves", "pyjamas", "polo shirt", "skirt",
         "running shoes", "beanie"),
        ("610910", "620442", "611020", "611596", "640411", "650500", "620342", "611241", "611030",
         "611420", "621420"),
        (13, 0.7), (0.3, 0.6), 4,
    ),
    "electronics": Goods(
        ("phone case", "USB cable", "charger", "earphones", "bluetooth headphones", "power bank",
         "LED strip", "smart watch", "screen protector", "adapter", "electronics", "speaker",
         "mouse", "keyboard", "bluetooth speaker", "car charger", "memory card", "webcam",
         "tablet case", "HDMI cable", "wireless earbuds", "phone holder"),
        ("392690", "854442", "850440", "851830", "850760", "940540", "910212", "851762", "847160",
         "851822", "852351", "852589"),
        (15, 0.9), (0.15, 0.7), 3,
    ),
    "home": Goods(
        ("kitchen utensils", "storage box", "wall sticker", "lamp", "towel", "bed sheet",
         "curtain", "candles", "scented candles", "decoration", "artificial flowers", "mug",
         "cushion cover", "ceramic vase", "picture frame", "statue", "figurine", "handicrafts",
         "wall clock", "coffee maker", "kitchen appliance", "tea set"),
        ("392490", "482390", "940520", "630260", "630231", "340600", "670290", "691200", "691390",
         "441400", "970300", "851672", "851679", "910521"),
        (14, 0.8), (0.5, 0.8), 3,
    ),
    "toys": Goods(
        ("toys", "toy car", "puzzle", "building blocks", "fishing lure", "craft supplies",
         "beads", "stickers", "model kit", "plush toy", "board game", "art prints",
         "sticker sheets", "trading cards", "doll", "slime kit"),
        ("950300", "950490", "950790", "701890", "491191", "491110", "950691"),
        (10, 0.8), (0.3, 0.8), 4,
    ),
    "beauty": Goods(
        ("cosmetics", "lipstick", "face cream", "nail polish", "makeup brush", "hair clips",
         "false eyelashes", "serum", "perfume", "skin care", "shampoo", "nail polish remover",
         "hand cream", "body lotion", "face mask", "eyeliner", "CBD cream", "beard oil",
         "essential oil"),
        ("330499", "330410", "330430", "960330", "330300", "330510", "330730", "961590", "330190",
         "330420"),
        (9, 0.8), (0.15, 0.7), 4,
    ),
    "jewellery": Goods(
        ("necklace", "earrings", "bracelet", "ring", "watch", "sunglasses", "accessories",
         "hair accessories", "keychain", "pendant", "anklet", "brooch"),
        ("711719", "711790", "910211", "900410", "961519"),
        (8, 0.9), (0.06, 0.6), 5,
    ),
    "tools": Goods(
        ("tools", "auto parts", "car accessories", "spare parts", "parts", "screwdriver set",
         "drill bits", "bike parts", "garden tools", "fittings", "brake pads", "air filter",
         "hand tools", "machine parts", "metal fittings"),
        ("870899", "820540", "820750", "871499", "846721", "732690", "820190", "870830", "842139",
         "820590", "848180"),
        (20, 0.9), (0.6, 0.9), 3,
    ),
    "books": Goods(
        ("books", "book", "magazine", "printed matter", "comics", "calendar", "notebook",
         "postcards", "art book"),
        ("490199", "490110", "490290", "491000", "490300", "482010", "490900"),
        (15, 0.6), (0.5, 0.6), 3,
    ),
    "supplements": Goods(
        ("vitamins", "food supplement", "dietary supplement", "protein powder",
         "fish oil capsules", "melatonin", "multivitamin", "probiotics", "magnesium tablets",
         "vitamin D3", "herbal supplement", "collagen", "vitamin C", "zinc tablets",
         "omega 3", "sports nutrition", "keto capsules", "biotin", "ashwagandha capsules",
         "health supplement", "creatine"),
        ("210690", "21069098", "210610", "150420", "293627", "350400", "210690", "293629"),
        (25, 0.6), (0.4, 0.6), 4,
    ),
    "medicines": Goods(
        ("medicine", "prescription medication", "tablets", "insulin", "eye drops",
         "pharmaceutical products", "ointment", "ayurvedic medicine", "antibiotics", "medication",
         "inhaler", "personal medication", "generic tablets", "homeopathic remedy"),
        ("300490", "300439", "300420", "300410", "30049000", "300431", "300450"),
        (40, 1.0), (0.2, 0.7), 3,
    ),
    "chemicals": Goods(
        ("laboratory reagent", "reagents", "chemicals", "analytical standard",
         "sodium bicarbonate", "citric acid", "pigment powder", "catalyst", "resin", "silica gel",
         "lab chemicals", "research chemicals", "chemical sample", "fine chemicals",
         "organic intermediate", "reference standard", "white powder", "crystalline powder",
         "buffer solution", "dye powder", "chemical reagent", "API intermediate", "powder sample"),
        ("281511", "283630", "291814", "293399", "320417", "381590", "382499", "282300", "382200",
         "292249", "291639", "294200", "293190", "320649"),
        (60, 1.2), (0.5, 1.0), 5,
    ),
    "garden": Goods(
        ("plant food", "fertilizer", "fertiliser", "plant nutrients", "hydroponic nutrients",
         "liquid fertilizer", "root stimulator", "seeds", "garden supplies", "orchid food",
         "soil additive", "plant growth regulator", "bonsai fertilizer"),
        ("310590", "310520", "310100", "120991", "382499", "380893", "310540"),
        (18, 0.8), (0.7, 0.8), 4,
    ),
    "cleaning": Goods(
        ("cleaning agent", "cleaning products", "alloy wheel cleaner", "graffiti remover",
         "stain remover", "degreaser", "solvent", "paint stripper", "glass cleaner",
         "rust remover", "detergent", "adhesive remover", "surface cleaner", "cleaning liquid"),
        ("340290", "340220", "381400", "340530", "382499", "340590", "381000"),
        (16, 0.7), (0.8, 0.6), 3,
    ),
    "bath": Goods(
        ("bath salts", "bath bombs", "epsom salt", "bath soak", "shower gel", "bubble bath",
         "bath crystals", "dead sea salt", "bath set", "spa salts", "body scrub", "bath powder",
         "mineral bath salt"),
        ("330730", "250100", "340130", "330499", "283321", "340120"),
        (14, 0.7), (0.6, 0.7), 4,
    ),
    "herbal": Goods(
        ("incense", "incense sticks", "herbal incense", "dhoop", "resin incense", "smudge sticks",
         "dried herbs", "herbal blend", "ayurvedic herbs", "kratom leaves", "herbal tea blend",
         "botanical extract", "plant extract", "aromatherapy set", "sage bundle"),
        ("330741", "121190", "130219", "121190", "130190", "090230", "330749"),
        (12, 0.8), (0.3, 0.8), 4,
    ),
    "food": Goods(
        ("tea", "green tea", "coffee", "spices", "snacks", "dried fruit", "herbal tea",
         "coffee beans", "noodles", "honey", "rooibos tea", "matcha", "cacao nibs", "quinoa",
         "dried mushrooms", "sauce", "instant coffee", "chai tea"),
        ("090230", "090210", "090121", "091099", "081340", "190230", "040900", "180100",
         "100850", "071239", "210390"),
        (15, 0.7), (0.4, 0.7), 4,
    ),
    "sweets": Goods(
        ("candy", "chocolate", "gummies", "sweets", "cookies", "chocolate bars", "lollipops",
         "fruit gummies", "candy box", "brownies", "marshmallows", "toffee", "snack box",
         "baked goods", "chewing gum"),
        ("170490", "180632", "180690", "190531", "170410", "190590", "210690"),
        (14, 0.7), (0.45, 0.7), 4,
    ),
    "vape": Goods(
        ("vape pen", "e-cigarette", "vape cartridges", "vaporizer", "vape battery", "pod system",
         "e-liquid", "disposable vape", "atomizer", "vape kit", "coils", "510 battery"),
        ("854340", "854390", "240412", "850650", "240419", "850760"),
        (22, 0.8), (0.15, 0.7), 4,
    ),
    "gift": Goods(
        ("gift", "birthday gift", "christmas present", "present", "clothes", "toys", "books",
         "sweets", "personal items", "family photos", "used clothing", "homemade food",
         "personal effects", "souvenirs", "gifts", "baby clothes", "household items",
         "gift box", "greeting card", "birthday card", "handmade gift"),
        ("980400", "630900", "490199", "170490", "950300", "621790", "490900"),
        (30, 0.7), (1.5, 0.9), 6,
    ),
    "documents": Goods(
        ("documents", "docs", "letter", "contract", "certificate", "papers", "greeting card",
         "photos", "invoice", "legal documents", "bank documents", "university transcript", "dox",
         "birthday card", "postcard", "correspondence", "printed matter", "card", "brochure",
         "wedding invitation"),
        ("490199", "491199", "490900", "491110"),
        (1, 1.0), (0.06, 0.8), 1,
    ),
    "returns": Goods(
        ("returned goods", "return", "customer return", "RMA repair", "warranty return",
         "return clothes", "return shoes", "returned merchandise"),
        ("620442", "640411", "851762", "611020", "420222", "847130"),
        (55, 0.8), (0.8, 0.7), 2,
    ),
    "samples": Goods(
        ("sample", "samples", "commercial sample", "fabric samples", "product samples",
         "sample of no commercial value", "prototype", "parts", "spare parts", "components",
         "test samples", "materials"),
        ("392690", "520812", "847330", "853400", "731815", "401699", "902790", "830249"),
        (20, 1.0), (0.4, 1.0), 5,
    ),
}

#: A few words per goods type in the languages senders write in (used for a share of items
#: from countries of that language, legitimate or not).
LOCAL_TERMS: dict[str, dict[str, tuple[str, ...]]] = {
    "es": {
        "apparel": ("ropa", "camiseta", "zapatos"), "electronics": ("cargador", "audifonos"),
        "home": ("velas", "artesanias", "decoracion", "jarron de ceramica"),
        "toys": ("juguetes", "pegatinas"), "beauty": ("cosmeticos", "crema"),
        "food": ("cafe", "te", "especias", "cacao"), "sweets": ("dulces", "chocolates"),
        "gift": ("regalo", "obsequio", "efectos personales"), "supplements": ("vitaminas",),
        "documents": ("documentos", "cartas", "tarjeta"), "herbal": ("hierbas", "incienso"),
        "books": ("libros",), "tools": ("repuestos", "herramientas"), "bath": ("sales de baño",),
    },
    "pt": {
        "apparel": ("roupas", "camiseta"), "home": ("velas", "artesanato"),
        "food": ("cafe", "cha"), "sweets": ("doces", "chocolate"), "gift": ("presente",),
        "documents": ("documentos", "cartao"), "beauty": ("cosmeticos",), "toys": ("brinquedos",),
    },
    "fr": {
        "apparel": ("vetements",), "beauty": ("cosmetiques", "creme"), "sweets": ("bonbons",),
        "documents": ("documents", "carte"), "gift": ("cadeau",), "food": ("the", "epices"),
    },
    "de": {
        "apparel": ("Kleidung",), "beauty": ("Kosmetik",), "sweets": ("Suessigkeiten",),
        "documents": ("Dokumente", "Karte"), "gift": ("Geschenk",), "bath": ("Badesalz",),
        "cleaning": ("Reiniger",), "garden": ("Duenger",), "chemicals": ("Chemikalien",),
        "supplements": ("Nahrungsergaenzung",),
    },
    "tr": {
        "apparel": ("giyim",), "food": ("cay", "baharat"), "sweets": ("lokum", "sekerleme"),
        "gift": ("hediye",), "home": ("seramik",),
    },
    "hi": {
        "herbal": ("agarbatti", "dhoop batti", "jadi buti"), "supplements": ("ayurvedic churna",),
        "food": ("chai", "masala"), "medicines": ("dawa",),
    },
}
# fmt: on

#: Language of the descriptions of each origin (others write English), and the share of
#: items from there described in it.
ORIGIN_LANGUAGE: dict[str, tuple[str, float]] = {
    "CO": ("es", 0.4), "MX": ("es", 0.4), "PE": ("es", 0.4), "EC": ("es", 0.4),
    "BR": ("pt", 0.4), "CH": ("de", 0.15), "CA": ("fr", 0.1), "TR": ("tr", 0.15),
    "IN": ("hi", 0.08), "NP": ("hi", 0.1),
}  # fmt: skip

#: Abbreviations operators and shippers use (applied to part of the descriptions).
ABBREVIATIONS: dict[str, str] = {
    "supplement": "suppl.", "vitamins": "vit.", "chemicals": "chem.", "laboratory": "lab.",
    "documents": "docs", "accessories": "acc.", "products": "prods", "cosmetics": "cosm.",
    "electronics": "elec.", "fertilizer": "fert.", "cleaning": "clean.", "samples": "smpl",
    "capsules": "caps", "tablets": "tabs", "powder": "pwdr", "clothing": "cloth.",
}  # fmt: skip

#: Vague descriptions used by legitimate e-commerce sellers instead of the real one (all on the
#: PACT/ICS2 lists), and the share of e-commerce items described this way.
VAGUE_ECOMMERCE_TERMS = (
    "gift", "goods", "accessories", "parts", "sample", "products", "items", "merchandise",
    "various goods", "misc", "gifts", "articles", "stuff",
)  # fmt: skip
VAGUE_ECOMMERCE_SHARE = 0.12

#: E-commerce mix of goods types.
ECOMMERCE_GOODS_MIX: dict[str, float] = {
    "apparel": 0.26, "electronics": 0.21, "home": 0.14, "toys": 0.08, "beauty": 0.11,
    "jewellery": 0.08, "tools": 0.07, "books": 0.04, "sweets": 0.01,
}  # fmt: skip


class Vocabulary:
    """Description tables per goods type: terms with Zipf-like weights, fixed typo variants.

    Built once per process with a fixed seed (typos must recur across worlds: a misspelling is
    a habit of the trade, not of one simulated run).
    """

    def __init__(self, goods: Mapping[str, Goods] = GOODS) -> None:
        fixed = np.random.default_rng(20260101)
        self.terms: dict[str, np.ndarray] = {}
        self.weights: dict[str, np.ndarray] = {}
        self.typos: dict[str, np.ndarray] = {}
        for kind, g in [*goods.items(), ("vague", None)]:
            terms = VAGUE_ECOMMERCE_TERMS if g is None else g.terms
            arr = np.array(terms, dtype=object)
            w = 1.0 / (np.arange(len(arr)) + 1.0) ** 0.6
            self.terms[kind] = arr
            self.weights[kind] = w / w.sum()
            self.typos[kind] = np.array([typo(str(t), fixed) for t in arr], dtype=object)

    def describe(
        self, kinds: np.ndarray, origins: np.ndarray, rng: np.random.Generator
    ) -> np.ndarray:
        """A description per item of goods type ``kinds[i]`` sent from ``origins[i]``.

        The same function describes legitimate and illicit goods: what differs is only the
        goods type a shipper declares. Draws a fixed number of uniforms per item, so other
        items' descriptions do not move when one item's type changes.
        """
        n = len(kinds)
        u = rng.random((n, 4))
        out = np.empty(n, dtype=object)
        kinds = np.asarray(kinds, dtype=object)
        for kind in np.unique(kinds):
            sel = np.flatnonzero(kinds == kind)
            cdf = np.cumsum(self.weights[kind])
            idx = np.minimum(np.searchsorted(cdf, u[sel, 0], side="right"), len(cdf) - 1)
            out[sel] = np.where(u[sel, 1] < 0.05, self.typos[kind][idx], self.terms[kind][idx])
        # a share in the sender's language
        origins = np.asarray(origins, dtype=object)
        for country, (lang, share) in ORIGIN_LANGUAGE.items():
            sel = np.flatnonzero((origins == country) & (u[:, 2] < share))
            if not len(sel):
                continue
            local = LOCAL_TERMS[lang]
            for kind in np.unique(kinds[sel]):
                words = local.get(str(kind))
                if not words:
                    continue
                s2 = sel[kinds[sel] == kind]
                out[s2] = np.array(words, dtype=object)[(u[s2, 3] * len(words)).astype(int)]
        return out


_VOCAB: Vocabulary | None = None


def vocabulary() -> Vocabulary:
    """The process-wide vocabulary (built on first use)."""
    global _VOCAB
    if _VOCAB is None:
        _VOCAB = Vocabulary()
    return _VOCAB
