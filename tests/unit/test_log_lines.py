"""Log lines are bounded where they are made: a line is cut at MAX_LINE_BYTES with a note,
and a line that never ends (a progress bar) costs no more than its kept start."""
from __future__ import annotations

import io

from orchestrator.engine.logs import LineTee
from orchestrator.models.logs import MAX_LINE_BYTES, fit_line


class RecordingShipper:
    def __init__(self):
        self.lines = []
        self.secrets = {"hunter22"}

    def add(self, level: int, message: str, cut_bytes: int = 0) -> None:
        self.lines.append(fit_line(message, cut_bytes))


def test_a_short_line_is_kept_as_it_is():
    assert fit_line("plain é 😀") == "plain é 😀"


def test_a_long_line_is_cut_on_a_character_boundary_with_the_count_of_what_was_cut():
    line = fit_line("é" * MAX_LINE_BYTES)  # 2 bytes each

    head, note = line.split(" [flowpool: ")
    assert head == "é" * (MAX_LINE_BYTES // 2)
    assert note == f"line cut at {MAX_LINE_BYTES} bytes; {MAX_LINE_BYTES} more bytes not kept]"


def test_nul_and_lone_surrogates_become_characters_every_store_can_hold():
    assert fit_line("a\x00b\ud800c") == "a\ufffdb?c"


def test_a_line_written_in_many_pieces_without_an_end_stays_bounded():
    shipper, sink = RecordingShipper(), io.StringIO()
    tee = LineTee(sink, shipper, 20)

    most_kept = 0
    for percent in range(200_000):
        tee.write(f"\r{percent % 100:3d}%")
        most_kept = max(most_kept, tee._kept)
    tee.write(" done\nnext\n")

    written = 200_000 * 5 + len(" done")
    assert len(shipper.lines) == 2 and shipper.lines[1] == "next"
    assert shipper.lines[0].endswith(f"; {written - MAX_LINE_BYTES} more bytes not kept]")
    assert sink.getvalue().endswith(" more bytes not kept]\nnext\n")
    assert most_kept <= MAX_LINE_BYTES  # what is past the cut is counted, never held


def test_a_line_is_written_through_and_shipped_with_its_secrets_masked():
    shipper, sink = RecordingShipper(), io.StringIO()
    tee = LineTee(sink, shipper, 20)

    tee.write("password hunt")
    tee.write("er22 here\n")

    assert sink.getvalue() == "password ******** here\n"
