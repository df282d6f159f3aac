"""The client imports nothing of the server (and none of its heavy dependencies)."""

import subprocess
import sys

SERVER_SIDE = ("leadstream", "chdb", "faust", "rocksdict", "aiokafka", "fastapi", "pydantic", "redis")


def test_importing_the_client_loads_nothing_of_the_server() -> None:
    code = (
        "import sys, leadstream_client, leadstream_client.client, leadstream_client.fallbacks;"
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({SERVER_SIDE!r})))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]", done.stdout
