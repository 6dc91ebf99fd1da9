"""``python -m rnnforecast``."""

from rnnforecast.cli import main

if __name__ == "__main__":
    main()
