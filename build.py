"""The build behind `make render`: validate sla/ and publish it to dist/.

Equivalent to `slakit render sla --out dist`; extra arguments are passed on.
"""

import sys

from cli import main

if __name__ == "__main__":
    main(["render", *(sys.argv[1:] or ["sla", "--out", "dist"])], prog_name="slakit")
