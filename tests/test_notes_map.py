"""NOTES_MAP.md: every heading of the notes -> its code, its test and its app, all real.

Parses the map and checks, without importing TensorFlow (the sources are read with `ast`):
(1) every `module.py:Symbol` names an existing module defining that symbol;
(2) every test node id names an existing test file defining that test function;
(3) every app command names an existing `apps/<task>.py`, and its flags (and word values)
    occur in the app's source or in the shared flag modules;
(4) the rows' first cells are exactly the headings of the notes, one row per heading, in the
    order of the notes (when the notes file is there);
(5) no section whose body holds a formula or an architecture is marked "no code", unless
    `NO_CODE_ALLOWED` names it with a reason.
"""

import ast
import collections
import functools
import re
import shlex
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
MAP_FILE = REPO / "NOTES_MAP.md"
NOTES_NAME = "shared/notes/deep-learning-notes.zh.md"
# ../shared beside the repository (the layout of this machine and of CI), or shared/ inside it.
NOTES_CANDIDATES = (Path(__file__).parents[2] / NOTES_NAME, REPO.parent / NOTES_NAME,
                    REPO / NOTES_NAME)
# Where the apps' shared names live (a word value of a flag, such as an optimizer's name, is
# a string in the app or in one of these).
SHARED_APP_MODULES = ("apps/flags.py", "apps/runner.py", "apps/optimizer_registry.py")

# Headings of the notes that may say "no code" although their section matches the formula or
# architecture detector: heading -> reason. (Empty: no such heading today.)
NO_CODE_ALLOWED = {}

COLUMNS = ("Notes heading", "English", "Code", "Test", "App")
CODE_REF = re.compile(r"^((?:kerasnotes|apps)/[\w/]+\.py):([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)?)$")
TEST_REF = re.compile(r"^(tests/[\w/]+\.py)::(?:([A-Za-z_]\w*)::)?(test\w*)(\[[^\]]*\])?$")
APP_REF = re.compile(r"^python -m apps\.(\w+)((?:\s.*)?)$")
WORD_VALUE = re.compile(r"^[A-Za-z_][\w-]*(?:,[A-Za-z_][\w-]*)*$")

# A formula: LaTeX math or commands, or an assignment in a code block / code span.
FORMULA = re.compile(r"\$|\\[A-Za-z]{2,}|[∑∏√⊙←]")
ARCHITECTURE = re.compile(
    r"nn\.|conv|dense|pool|卷积|池化|全连接|隐藏层|hidden layer|LeNet|AlexNet|VGG|NiN|"
    r"GoogLeNet|Inception|ResNet|DenseNet|RNN|GRU|LSTM|SSD|R-CNN|FCN|残差|稠密|softmax|"
    r"激活函数|activation",
    re.IGNORECASE,
)


# ------------------------------------------------------------------------------- parsing

Row = collections.namedtuple("Row", "line heading english code tests apps")


def split_cells(line):
    """Cells of a Markdown table row; `|` inside code spans or escaped as `\\|` stays."""
    cells, current, in_code, i = [], [], False, 0
    body = line.strip()
    body = body[1:] if body.startswith("|") else body
    body = body[:-1] if body.endswith("|") and not body.endswith("\\|") else body
    while i < len(body):
        char = body[i]
        if char == "\\" and i + 1 < len(body) and body[i + 1] == "|":
            current.append("\\|")
            i += 2
            continue
        if char == "`":
            in_code = not in_code
        if char == "|" and not in_code:
            cells.append("".join(current).strip())
            current = []
        else:
            current.append(char)
        i += 1
    cells.append("".join(current).strip())
    return cells


@functools.lru_cache(maxsize=1)
def map_rows():
    """The rows of the map's tables (those whose header starts with `Notes heading`)."""
    lines = MAP_FILE.read_text(encoding="utf-8").splitlines()
    rows, i = [], 0
    while i < len(lines):
        if lines[i].startswith("|") and split_cells(lines[i])[0] == COLUMNS[0]:
            header = split_cells(lines[i])
            assert tuple(header) == COLUMNS, f"NOTES_MAP.md:{i + 1}: header {header}"
            i += 2  # header and separator
            while i < len(lines) and lines[i].startswith("|"):
                cells = split_cells(lines[i])
                assert len(cells) == len(COLUMNS), (
                    f"NOTES_MAP.md:{i + 1}: {len(cells)} cells instead of {len(COLUMNS)}")
                rows.append(Row(i + 1, *cells))
                i += 1
        else:
            i += 1
    return tuple(rows)


def spans(cell):
    return re.findall(r"`([^`]+)`", cell)


def code_refs(row):
    return [s for s in spans(row.code) if s.startswith(("kerasnotes/", "apps/"))]


def is_no_code(row):
    return row.code.startswith("no code")


def is_not_implemented(row):
    return row.code.startswith("not implemented")


@functools.cache
def definitions(path):
    """Top-level names defined in `path` (classes, functions, assignments), and per class
    the names defined in its body: `({name}, {class: {name}})`. Imports do not count."""
    tree = ast.parse((REPO / path).read_text(encoding="utf-8"), filename=path)
    names, members = set(), {}

    def assigned(node):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        found = set()
        for target in targets:
            for sub in ast.walk(target):
                if isinstance(sub, ast.Name):
                    found.add(sub.id)
        return found

    def visit(body):
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                names.add(node.name)
            elif isinstance(node, ast.ClassDef):
                names.add(node.name)
                inner = set()
                for item in node.body:
                    if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                        inner.add(item.name)
                    elif isinstance(item, (ast.Assign, ast.AnnAssign)):
                        inner |= assigned(item)
                members[node.name] = inner
            elif isinstance(node, (ast.Assign, ast.AnnAssign)):
                names.update(assigned(node))
            elif isinstance(node, ast.If):
                visit(node.body)
                visit(node.orelse)
            elif isinstance(node, ast.Try):
                visit(node.body)
                for handler in node.handlers:
                    visit(handler.body)
                visit(node.orelse)
                visit(node.finalbody)

    visit(tree.body)
    return names, members


def symbol_problem(path, symbol):
    if not (REPO / path).is_file():
        return f"{path} does not exist"
    names, members = definitions(path)
    owner, _, member = symbol.partition(".")
    if owner not in names:
        return f"{path} defines no {owner}"
    if member and member not in members.get(owner, ()):
        return f"{path}: class {owner} defines no {member}"
    return None


def notes_file():
    for candidate in NOTES_CANDIDATES:
        if candidate.is_file():
            return candidate
    return None


@functools.lru_cache(maxsize=1)
def notes_sections():
    """`[(heading text, body text)]` of the notes in order; `#` lines in code fences are not
    headings (the body keeps them, marked as code)."""
    path = notes_file()
    sections, body, in_fence = [], None, False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.lstrip().startswith("```"):
            in_fence = not in_fence
            if body is not None:
                body.append("```")
            continue
        if not in_fence and line.startswith("#"):
            sections.append((line.lstrip("#").strip(), []))
            body = sections[-1][1]
        elif body is not None:
            body.append(("CODE " if in_fence else "") + line)
    return [(heading, "\n".join(lines)) for heading, lines in sections]


def needs_code(body):
    """Why a section body needs code: a formula or an architecture keyword, else None."""
    code_text = "\n".join(re.findall(r"`([^`]*)`", body) +
                          [line for line in body.splitlines() if line.startswith("CODE ")])
    for pattern, kind in ((FORMULA, "formula"), (ARCHITECTURE, "architecture keyword")):
        match = pattern.search(body)
        if match:
            return f"{kind} {match.group(0)!r}"
    if "=" in code_text:
        return "an assignment in code"
    return None


def require_notes():
    if notes_file() is None:
        pytest.skip("notes not found at " + ", ".join(str(p) for p in NOTES_CANDIDATES))


def report(problems):
    assert not problems, "NOTES_MAP.md:\n  " + "\n  ".join(problems)


# ------------------------------------------------------------------------------- checks

def test_rows_are_well_formed():
    rows = map_rows()
    assert len(rows) > 50, "NOTES_MAP.md has lost its tables"
    problems = []
    for row in rows:
        where = f"line {row.line} ({row.heading})"
        if not row.english:
            problems.append(f"{where}: no English name")
        refs = code_refs(row)
        if is_no_code(row) or is_not_implemented(row):
            if refs or spans(row.tests) or spans(row.apps):
                problems.append(f"{where}: a 'no code'/'not implemented' row names code, "
                                f"tests or apps")
            if not re.match(r"^(no code|not implemented): \S", row.code):
                problems.append(f"{where}: say why, as 'no code: <reason>' or "
                                f"'not implemented: <what>'")
        else:
            if not refs:
                problems.append(f"{where}: the code cell names no module:symbol and is not "
                                f"marked 'no code' or 'not implemented'")
            if not spans(row.tests):
                problems.append(f"{where}: code without a test that checks it")
        if not spans(row.apps) and not row.apps.startswith("-"):
            problems.append(f"{where}: the app cell is neither a command nor '-'")
    report(problems)


def test_every_module_and_symbol_exists():
    problems = []
    for row in map_rows():
        for ref in code_refs(row):
            match = CODE_REF.match(ref)
            if not match:
                problems.append(f"line {row.line}: malformed code reference `{ref}` "
                                f"(want `path/module.py:Symbol` or `...:Class.method`)")
                continue
            problem = symbol_problem(*match.groups())
            if problem:
                problems.append(f"line {row.line} ({row.heading}): `{ref}`: {problem}")
    report(problems)


def test_every_test_node_id_exists():
    problems = []
    for row in map_rows():
        for ref in spans(row.tests):
            match = TEST_REF.match(ref)
            if not match:
                problems.append(f"line {row.line}: malformed test node id `{ref}` "
                                f"(want `tests/.../test_x.py::test_y`)")
                continue
            path, class_name, function, _ = match.groups()
            symbol = f"{class_name}.{function}" if class_name else function
            problem = symbol_problem(path, symbol)
            if problem:
                problems.append(f"line {row.line} ({row.heading}): `{ref}`: {problem}")
    report(problems)


@functools.cache
def app_sources(task):
    texts = [(REPO / "apps" / f"{task}.py").read_text(encoding="utf-8")]
    texts += [(REPO / p).read_text(encoding="utf-8") for p in SHARED_APP_MODULES
              if (REPO / p).is_file()]
    return "\n".join(texts)


def quoted(text, word):
    return f'"{word}"' in text or f"'{word}'" in text


def app_flags(task, predict=False):
    """The option strings of `python -m apps.<task>` (of its `predict` subcommand)."""
    import argparse
    import dataclasses
    import importlib

    from apps import flags

    module = importlib.import_module(f"apps.{task}")
    if predict:
        parser = argparse.ArgumentParser()
        module.add_predict_flags(parser)
        return {"--model-dir", "--model", "--image", "--out",
                *(o for action in parser._actions for o in action.option_strings)}
    config_class = next(value for value in vars(module).values()
                        if dataclasses.is_dataclass(value) and isinstance(value, type)
                        and issubclass(value, flags.RunConfig) and value is not flags.RunConfig)
    parser = flags.make_parser(config_class, "")
    return {o for action in parser._actions for o in action.option_strings}


def test_every_app_command_and_flag_exists():
    problems = []
    for row in map_rows():
        for ref in spans(row.apps):
            match = APP_REF.match(ref)
            if not match:
                problems.append(f"line {row.line}: malformed app command `{ref}` "
                                f"(want `python -m apps.<task> [flags]`)")
                continue
            task, rest = match.groups()
            if not (REPO / "apps" / f"{task}.py").is_file():
                problems.append(f"line {row.line}: `{ref}`: apps/{task}.py does not exist")
                continue
            source = app_sources(task)
            tokens = shlex.split(rest)
            options = app_flags(task, predict=tokens[:1] == ["predict"])
            for i, token in enumerate(tokens):
                if token.startswith("--"):
                    flag = token.split("=", 1)[0]
                    if flag not in options:
                        problems.append(f"line {row.line}: `{ref}`: python -m apps.{task} "
                                        f"has no flag {flag}")
                    continue
                previous = tokens[i - 1] if i else None
                is_subcommand = previous is None or not previous.startswith("--")
                # A word value (a choice such as `lenet` or `sgd,momentum`), or a subcommand.
                if WORD_VALUE.match(token) or is_subcommand:
                    for word in token.split(","):
                        if not quoted(source, word):
                            problems.append(f"line {row.line}: `{ref}`: {word!r} is not a "
                                            f"string in apps/{task}.py")
    report(problems)


def test_one_row_per_heading_of_the_notes_in_their_order():
    require_notes()
    headings = [heading for heading, _ in notes_sections()]
    cells = [row.heading for row in map_rows()]
    missing = collections.Counter(headings) - collections.Counter(cells)
    extra = collections.Counter(cells) - collections.Counter(headings)
    problems = [f"no row for heading {h!r} (x{n})" for h, n in missing.items()]
    problems += [f"row for {h!r}, which is not a heading of the notes (or one row too many; "
                 f"x{n})" for h, n in extra.items()]
    if not problems:
        for index, (heading, cell) in enumerate(zip(headings, cells, strict=True)):
            if heading != cell:
                row = map_rows()[index]
                problems.append(f"line {row.line}: row {index + 1} is {cell!r}, but heading "
                                f"{index + 1} of the notes is {heading!r} (rows must follow "
                                f"the notes' order)")
                break
    report(problems)


def test_sections_with_formulas_or_architectures_are_not_marked_no_code():
    require_notes()
    sections = notes_sections()
    rows = map_rows()
    if len(rows) != len(sections):
        pytest.fail("rows and headings differ: see test_one_row_per_heading_of_the_notes_...")
    problems = []
    for (heading, body), row in zip(sections, rows, strict=True):
        reason = needs_code(body)
        if is_no_code(row) and reason and heading not in NO_CODE_ALLOWED:
            problems.append(f"line {row.line} ({heading}): marked 'no code' but its section "
                            f"has a {reason}; map its code, say 'not implemented', or add it "
                            f"to NO_CODE_ALLOWED with a reason")
    stale = [h for h in NO_CODE_ALLOWED if h not in {heading for heading, _ in sections}]
    problems += [f"NO_CODE_ALLOWED names {h!r}, not a heading of the notes" for h in stale]
    report(problems)


def test_the_detector_sees_formulas_and_architectures():
    """The detector of the check above, on sections it must and must not flag."""
    assert needs_code("softmax 函数:  $softmax(Y) = \\frac{exp(y)}{...}$")
    assert needs_code("- nn.Conv2D(96, kernel\\_size=11, strides=4)")
    assert needs_code("```\nCODE x = y + 1\n```")
    assert needs_code("两组: (3,3)kernel 1 填充 卷积层 + 批量归一化 + relu")
    assert needs_code("") is None
    assert needs_code("徐世桐") is None
    assert needs_code("区分图片中一个物体的不同部分,不将每一物体和标签对应") is None
