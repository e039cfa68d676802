from compiler.cli import run

run(prog="python -m compiler")
