"""A flow file imports `orchestrator`; that import must not drag in the server's libraries."""
import subprocess
import sys


def test_importing_orchestrator_loads_no_server_or_broker_library():
    code = ("import sys, orchestrator; heavy = [m for m in ('fastapi', 'sqlalchemy', 'celery',"
            " 'kombu', 'redis', 'pydantic', 'httpx', 'uvicorn') if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
