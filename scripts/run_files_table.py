"""The run-directory reference (docs/run-directory.md): its files and summary.json's keys, from
trainer/rundir/run_files.py.

    python scripts/run_files_table.py          # print both tables
    python scripts/run_files_table.py --write  # put them into docs/run-directory.md between markers
"""
import sys

from trainer.rundir.run_files import files_table, summary_table

if __name__ == "__main__":
    if "--write" in sys.argv[1:]:
        from readme_io import write_block
        write_block("run-files-table", files_table())
        write_block("summary-table", summary_table())
    else:
        print(files_table(), summary_table(), sep="\n\n")
