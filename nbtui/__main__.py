"""`python -m nbtui` runs the `nbtui` command."""

from nbtui.cli import main

main(prog_name="nbtui")
