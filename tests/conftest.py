import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
REALWORLD = ROOT / "tests" / "realworld"

sys.path.insert(0, str(ROOT))
