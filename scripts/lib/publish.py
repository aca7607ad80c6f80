"""Writes a generated folder so that readers never see it half-written (the test data and fuzz
seeds that scripts/setup.sh --test and scripts/fuzz.sh generate, see scripts/lib/test-data.sh)."""
import os
import pathlib
import shutil
import tempfile


def publish(out, build, stamp):
    """Runs build(tmp) on a fresh folder beside `out`, writes the `.complete` stamp into it and
    renames it to `out` (replacing an older one), so `out` is never seen half-written."""
    out = pathlib.Path(out).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = pathlib.Path(tempfile.mkdtemp(prefix=out.name + ".tmp-", dir=out.parent))
    old = None
    try:
        tmp.chmod(0o755)
        build(tmp)
        (tmp / ".complete").write_text(stamp)
        if out.exists():
            old = out.with_name(f"{out.name}.old-{os.getpid()}")
            out.rename(old)
        tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
