"""Reference: python-calamine reads every cell of the benchmark workbook."""
import sys
import time

from python_calamine import CalamineWorkbook

start = time.perf_counter()
rows = CalamineWorkbook.from_path(sys.argv[1]).get_sheet_by_name("obs").to_python()
elapsed = time.perf_counter() - start
print(f"{len(rows) - 1} {elapsed:.3f}")
