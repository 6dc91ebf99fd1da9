"""``python -m rnnforecast``."""

from rnnforecast.cli.commands import entry_point

if __name__ == "__main__":
    entry_point()
