"""What ruff (`make lint`, pyproject.toml) cannot see: a statement `check(...), "message"` is a
tuple, so the message is silently dropped (ruff's B018 skips expressions that hold a call)."""
import ast

from conftest import REPO

SKIP = {".venvs", ".git", "dist", "build", "out", "vendored_wheels"}


def python_files():
    return [p for p in sorted(REPO.rglob("*.py")) if not SKIP & set(p.relative_to(REPO).parts)]


def dropped_messages(path):
    """`line: code` for each statement of `path` that is a tuple of a call and something else
    (a tuple of calls only, `a.flush(), b.flush()`, does what it says)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Tuple):
            calls = [isinstance(item, ast.Call) for item in node.value.elts]
            if any(calls) and not all(calls):
                found.append(f"{node.lineno}: {ast.unparse(node)[:80]}")
    return found


def test_the_check_finds_a_message_that_is_silently_a_tuple(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text('import numpy as np\nnp.testing.assert_allclose(1, 1), "lost"\nprint(1), print(2)\n')
    assert [line.split(":")[0] for line in dropped_messages(sample)] == ["2"]


def test_no_call_with_a_message_that_is_silently_a_tuple():
    found = [f"{path.relative_to(REPO)}:{line}" for path in python_files() for line in dropped_messages(path)]
    assert not found, "use err_msg= or a plain assert:\n" + "\n".join(found)
