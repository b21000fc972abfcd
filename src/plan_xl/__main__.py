"""`python -m plan_xl`: the `plan-xl` command."""

from .cli import run

if __name__ == "__main__":  # not when imported (multiprocessing does not re-run a package's __main__)
    run()
