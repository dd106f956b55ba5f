"""Accuracy and speed of the local intent analyser on the labelled en/vi/uk sets.

    python bench/intent_accuracy.py [files...]    # default: tests/data/intents_*.jsonl

Prints overall and per-language accuracy, a table per labelled set (intent accuracy per
language, and for the cases that come with a conversation context the follow-up accuracy per
language: intent, follow-up kind and source turn all right), a confusion matrix (rows =
expected intent, columns = predicted), the misclassified prompts, how often the optional
"angles" and "subject" labels were extracted exactly, and the mean / p99 time of one analyze() call.
analyze() gets each case's labelled `lang`, as the API passes it; how well the language
would have been guessed without it is reported on its own line. A second table reads every
prompt again with no language hint (as a caller that sends none) and scores each field on its
own, per set and language: intent, language, the exact set of angles (cases labelled with
angles) and the brand (cases whose subject label names one, "" included). Each case is timed
`REPEAT` times and its fastest run kept, so that other processes on a shared machine do not
show up as the analyser's own latency.
"""

from __future__ import annotations

import json
import math
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from prompt_svc.intents import Context, FollowUp, Intent, Subject, Turn
from prompt_svc.local import analyze, detect_language

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_GLOB = "tests/data/intents_*.jsonl"
REPEAT = 5
FIELDS = ("intent", "language", "angles", "brand")
_SHORT = {
    Intent.GENERATE_IMAGE: "gen",
    Intent.GENERATE_ANGLES: "angles",
    Intent.STYLE_TRANSFER: "style",
    Intent.EDIT_BACKGROUND: "bg",
    Intent.ENHANCE_IMAGE: "enh",
    Intent.CHAT: "chat",
}


@dataclass(frozen=True)
class Case:
    """One labelled prompt."""

    prompt: str
    lang: str
    has_image: bool
    intent: Intent
    angles: tuple[str, ...] | None = None
    subject: dict[str, object] | None = None
    source: str = ""
    context: Context | None = None  # earlier turns; None for a message without context
    follow_up: FollowUp | None = None  # labelled follow-up kind (cases with a context)
    source_turn: int | None = None

    @property
    def set_name(self) -> str:
        """The labelled set (file name) the case comes from."""
        return self.source.partition(":")[0]


@dataclass(frozen=True)
class Miss:
    """A case the analyser got wrong, and what it said."""

    case: Case
    predicted: Intent
    detail: str = ""
    follow_up: FollowUp = FollowUp.NONE
    source_turn: int = 0


@dataclass
class Report:
    """Everything the bench measured over a set of cases."""

    total: int = 0
    correct: int = 0
    per_lang: dict[str, tuple[int, int]] = field(default_factory=dict)  # lang -> (ok, total)
    confusion: Counter[tuple[Intent, Intent]] = field(default_factory=Counter)
    misses: list[Miss] = field(default_factory=list)
    extraction: tuple[int, int] = (0, 0)  # (exact, labelled) over angles and subject labels
    extraction_misses: list[Miss] = field(default_factory=list)
    detected: tuple[int, int] = (0, 0)  # (right, total) of detect_language on the prompts
    micros: list[float] = field(default_factory=list)  # per case, fastest of `repeat` runs
    repeat: int = REPEAT
    # (set, lang) -> (ok, total): intent per set, and follow-ups over the cases with a context
    per_set: Counter[tuple[str, str, bool]] = field(default_factory=Counter)
    follow_ups: Counter[tuple[str, str, bool]] = field(default_factory=Counter)
    follow_up_misses: list[Miss] = field(default_factory=list)
    # (set, lang, field, right) -> count, read with no language hint (see `FIELDS`)
    by_field: Counter[tuple[str, str, str, bool]] = field(default_factory=Counter)

    @property
    def accuracy(self) -> float:
        """Share of cases whose intent was right."""
        return self.correct / self.total if self.total else 0.0

    def follow_up_accuracy(self, lang: str = "", set_name: str = "") -> float:
        """Share of right follow-ups (intent, kind, source turn) among the cases with a context."""
        ok = total = 0
        for (name, case_lang, right), count in self.follow_ups.items():
            if (not lang or case_lang == lang) and (not set_name or name == set_name):
                total += count
                ok += count if right else 0
        return ok / total if total else 0.0

    def lang_accuracy(self, lang: str) -> float:
        """Share of right intents among the cases in `lang`."""
        ok, total = self.per_lang.get(lang, (0, 0))
        return ok / total if total else 0.0

    @property
    def mean_us(self) -> float:
        """Mean microseconds per analyze() call."""
        return sum(self.micros) / len(self.micros) if self.micros else 0.0

    @property
    def p99_us(self) -> float:
        """99th percentile of microseconds per analyze() call (nearest rank)."""
        if not self.micros:
            return 0.0
        ordered = sorted(self.micros)
        return ordered[max(0, math.ceil(0.99 * len(ordered)) - 1)]


def default_paths() -> list[Path]:
    """Every labelled set in tests/data."""
    return sorted(ROOT.glob(DEFAULT_GLOB))


def load(path: Path) -> list[Case]:
    """Read one JSONL file of labelled prompts."""
    cases = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        row = json.loads(line)
        angles = row.get("angles")
        context = row.get("context")
        follow_up = row.get("follow_up")
        cases.append(
            Case(
                prompt=row["prompt"],
                lang=row["lang"],
                has_image=bool(row.get("has_image", False)),
                intent=Intent(row["intent"]),
                angles=tuple(angles) if angles is not None else None,
                subject=row.get("subject"),
                source=f"{path.name}:{number}",
                context=None if context is None else _context(context),
                follow_up=None if follow_up is None else FollowUp(follow_up),
                source_turn=row.get("source_turn"),
            )
        )
    return cases


def _context(turns: list[dict[str, object]]) -> Context:
    """A context from its JSON form: a list of turns with the fields of `Turn`."""
    out = []
    for turn in turns:
        subject = turn.get("subject") or {}
        assert isinstance(subject, dict)
        out.append(
            Turn(
                prompt=str(turn.get("prompt", "")),
                intent=Intent.parse(str(turn.get("intent", ""))),
                refined_prompt=str(turn.get("refined_prompt", "")),
                subject=Subject(**subject),
                session_id=str(turn.get("session_id", "")),
                angles=tuple(turn.get("angles") or ()),  # type: ignore[arg-type]
                image_urls=tuple(turn.get("image_urls") or ()),  # type: ignore[arg-type]
            )
        )
    return Context(tuple(out))


def evaluate(paths: Sequence[Path | str], *, repeat: int = REPEAT) -> Report:
    """Run the analyser over every case in `paths` and collect the report."""
    report = Report(repeat=max(1, repeat))
    per_lang: Counter[tuple[str, bool]] = Counter()
    exact = labelled = detected = 0
    for path in paths:
        for case in load(Path(path)):
            detected += detect_language(case.prompt) == case.lang
            fastest = math.inf
            for _ in range(report.repeat):
                started = time.perf_counter()
                result = analyze(
                    case.prompt, lang=case.lang, has_image=case.has_image, context=case.context
                )
                fastest = min(fastest, time.perf_counter() - started)
            report.micros.append(fastest * 1e6)
            ok = result.intent is case.intent
            report.total += 1
            report.correct += ok
            per_lang[(case.lang, ok)] += 1
            report.confusion[(case.intent, result.intent)] += 1
            report.per_set[(case.set_name, case.lang, ok)] += 1
            if not ok:
                report.misses.append(Miss(case, result.intent))
            if case.context is not None:
                right = (
                    ok
                    and result.follow_up is (case.follow_up or FollowUp.NONE)
                    and (case.source_turn is None or result.source_turn == case.source_turn)
                )
                report.follow_ups[(case.set_name, case.lang, right)] += 1
                if not right:
                    report.follow_up_misses.append(
                        Miss(case, result.intent, "", result.follow_up, result.source_turn)
                    )
            _score_fields(report, case)
            problems = _extraction_problems(case, result.angles, result.subject.__dict__)
            if case.angles is not None or case.subject:
                labelled += 1
                exact += not problems
                if problems:
                    report.extraction_misses.append(Miss(case, result.intent, problems))
    langs = sorted({lang for lang, _ in per_lang})
    report.per_lang = {
        lang: (per_lang[(lang, True)], per_lang[(lang, True)] + per_lang[(lang, False)])
        for lang in langs
    }
    report.extraction = (exact, labelled)
    report.detected = (detected, report.total)
    return report


def _score_fields(report: Report, case: Case) -> None:
    """Score each field of one case read with no language hint."""
    blind = analyze(case.prompt, has_image=case.has_image, context=case.context)
    name, lang = case.set_name, case.lang
    report.by_field[(name, lang, "intent", blind.intent is case.intent)] += 1
    report.by_field[(name, lang, "language", blind.lang == case.lang)] += 1
    if case.angles is not None:
        report.by_field[(name, lang, "angles", set(blind.angles) == set(case.angles))] += 1
    if case.subject and "brand" in case.subject:
        report.by_field[(name, lang, "brand", blind.subject.brand == case.subject["brand"])] += 1


def field_accuracy(report: Report, name: str, lang: str, field_name: str) -> tuple[int, int]:
    """(right, scored) of one field over one set ("" = every set) and language ("" = all)."""
    ok = total = 0
    for (s, lg, f, right), n in report.by_field.items():
        if f == field_name and name in ("", s) and lang in ("", lg):
            total += n
            ok += n if right else 0
    return ok, total


def _field_table(report: Report) -> list[str]:
    names = sorted({s for s, _, _, _ in report.by_field})
    langs = sorted({lg for _, lg, _, _ in report.by_field})
    head = f"{'set':<32}{'lang':>5}{'cases':>7}" + "".join(f"{f:>10}" for f in FIELDS)
    lines = ["by field, read with no language hint (angles = exact set):", head]
    for name in names:
        for lang in ("", *langs):
            cases = field_accuracy(report, name, lang, "intent")[1]
            if not cases:
                continue
            cells = []
            for f in FIELDS:
                ok, total = field_accuracy(report, name, lang, f)
                cells.append(f"{ok / total:.1%}" if total else "-")
            row = f"{name:<32}{lang or 'all':>5}{cases:>7}" + "".join(f"{c:>10}" for c in cells)
            lines.append(row)
    return lines


def _extraction_problems(case: Case, angles: tuple[str, ...], subject: dict[str, object]) -> str:
    problems = []
    if case.angles is not None and tuple(case.angles) != angles:
        problems.append(f"angles {list(angles)} != {list(case.angles)}")
    for key, want in (case.subject or {}).items():
        if subject.get(key) != want:
            problems.append(f"{key} {subject.get(key)!r} != {want!r}")
    return "; ".join(problems)


def format_report(report: Report) -> str:
    """The report as plain text."""
    lines = [
        f"cases: {report.total}",
        f"overall accuracy: {report.accuracy:.1%} ({report.correct}/{report.total})",
    ]
    for lang, (ok, total) in report.per_lang.items():
        lines.append(f"  {lang}: {report.lang_accuracy(lang):.1%} ({ok}/{total})")
    lines += ["", *_set_table(report)]
    lines += ["", *_field_table(report)]
    lines += ["", "confusion matrix (rows = expected, columns = predicted):"]
    order = list(Intent)
    width = max(len(s) for s in _SHORT.values()) + 2
    lines.append(" " * width + "".join(f"{_SHORT[i]:>{width}}" for i in order))
    for expected in order:
        cells = "".join(f"{report.confusion[(expected, p)]:>{width}}" for p in order)
        lines.append(f"{_SHORT[expected]:<{width}}{cells}")
    lines += ["", f"misclassified: {len(report.misses)}"]
    for miss in report.misses:
        case = miss.case
        image = "+img" if case.has_image else "-img"
        lines.append(
            f"  [{case.lang} {image}] {case.prompt!r}: expected {case.intent}, "
            f"got {miss.predicted} ({case.source})"
        )
    if report.follow_ups:
        lines += ["", f"follow-ups wrong: {len(report.follow_up_misses)}"]
    for miss in report.follow_up_misses:
        case = miss.case
        lines.append(
            f"  [{case.lang}] {case.prompt!r}: expected {case.intent}/{case.follow_up}"
            f"@{case.source_turn}, got {miss.predicted}/{miss.follow_up}@{miss.source_turn}"
            f" ({case.source})"
        )
    exact, labelled = report.extraction
    lines += ["", f"angles/subject labels extracted exactly: {exact}/{labelled}"]
    for miss in report.extraction_misses:
        lines.append(f"  {miss.case.prompt!r}: {miss.detail} ({miss.case.source})")
    right, total = report.detected
    lines += ["", f"language detected without the label: {right}/{total}"]
    lines += [
        "",
        f"time per analyze() (fastest of {report.repeat} runs per case): "
        f"mean {report.mean_us:.0f} us, p99 {report.p99_us:.0f} us",
    ]
    return "\n".join(lines)


def _set_table(report: Report) -> list[str]:
    """Intent accuracy per set and language; follow-up accuracy where the set has contexts."""
    langs = list(report.per_lang)
    names = sorted({name for name, _, _ in report.per_set})
    head = f"{'set':<32}{'cases':>6}{'intent':>8}" + "".join(f"{lang:>8}" for lang in langs)
    head += f"{'follow-up':>11}" + "".join(f"{lang:>8}" for lang in langs)
    lines = ["per set (follow-up = intent, follow-up kind and source turn all right):", head]
    for name in names:
        cells = [_share(report.per_set, name, lang) for lang in ("", *langs)]
        row = f"{name:<32}{_count(report.per_set, name):>6}{cells[0]:>8}"
        row += "".join(f"{c:>8}" for c in cells[1:])
        if _count(report.follow_ups, name):
            fu = [_share(report.follow_ups, name, lang) for lang in ("", *langs)]
            row += f"{fu[0]:>11}" + "".join(f"{c:>8}" for c in fu[1:])
        lines.append(row)
    return lines


def _count(counts: Counter[tuple[str, str, bool]], name: str, lang: str = "") -> int:
    return sum(n for (s, lg, _), n in counts.items() if s == name and (not lang or lg == lang))


def _share(counts: Counter[tuple[str, str, bool]], name: str, lang: str) -> str:
    total = _count(counts, name, lang)
    ok = sum(n for (s, lg, right), n in counts.items() if right and s == name and lang in ("", lg))
    return f"{ok / total:.1%}" if total else "-"


def main(argv: Sequence[str] | None = None) -> int:
    """Print the report for the given files (default: every labelled set); 1 if none."""
    args = list(sys.argv[1:] if argv is None else argv)
    paths = [Path(a) for a in args] if args else default_paths()
    if not paths:
        print(f"no labelled sets found ({DEFAULT_GLOB})", file=sys.stderr)
        return 1
    analyze("warm up")  # the first call pays for lazy imports, not for the rules
    print(format_report(evaluate(paths)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
