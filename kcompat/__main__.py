from kcompat.cli import run

run()
