"""The command line's conventions: every help page has an example, spells out each
abbreviation it uses, uses no internal words; ``--version``; an option of one value given
twice is refused."""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterator

import pytest

import sparsim
from sparsim.cli import build_parser, main

# Abbreviations a help page may use once it spells them out (anywhere on the page).
SPELLED_OUT = {
    "TC": "tensor core",
    "STC": "sparse tensor core",
    "DSTC": "dual-side sparse tensor core",
    "TTC": "TASD tensor core",
    "EDP": "energy-delay product",
    "RLE": "run-length",
    "CP": "coordinate payload",
    "ERT": "energy reference table",
    "TASD-W": "TASD of the weights",
    "TASD-A": "TASD of the input activations",
    "MAC": "multiply-accumulate",
    "MACs": "multiply-accumulate",
    "RF": "register file",
}
INTERNAL_WORDS = ("fig15", "seed paper")


def _pages(parser: argparse.ArgumentParser, name: str) -> Iterator[tuple[str, str]]:
    yield name, parser.format_help()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub, subparser in action.choices.items():
                yield from _pages(subparser, f"{name} {sub}")


PAGES = dict(_pages(build_parser(), "sparsim"))


@pytest.mark.parametrize("name", PAGES)
def test_every_help_page_has_an_example(name: str) -> None:
    assert "example" in PAGES[name], name


@pytest.mark.parametrize("name", PAGES)
def test_abbreviations_are_spelled_out_and_no_internal_words(name: str) -> None:
    page = " ".join(PAGES[name].split())  # argparse wraps lines anywhere
    for short, long in SPELLED_OUT.items():
        used = re.search(rf"(?<![\w-]){re.escape(short)}(?![\w-])", page)
        if used:
            assert long.lower() in page.lower().replace("- ", "-"), (name, short)
    for word in INTERNAL_WORDS:
        assert word not in page.lower(), (name, word)


def test_version(capsys) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"sparsim {sparsim.__version__}"


@pytest.mark.parametrize(
    "argv",
    [
        ["evaluate", "--design", "stc", "--design", "tc", "--gemm", "M=8,K=8,N=8"],
        ["evaluate", "--design", "stc", "--gemm", "M=8,K=8,N=8", "--json", "--json"],
        ["sweep", "x.yaml", "--out", "a", "--out", "b"],
        ["tasd", "patterns", "--max-terms", "2", "--max-terms", "3"],
    ],
)
def test_an_option_of_one_value_given_twice_is_refused(argv, capsys) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "given twice" in err
