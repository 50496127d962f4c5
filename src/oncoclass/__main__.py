"""``python -m oncoclass``: the command line, run by the interpreter that runs this."""

from oncoclass.cli import main

if __name__ == "__main__":
    main()
