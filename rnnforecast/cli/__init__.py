"""The command line: the only package that imports typer or rich, prints, or exits.

Each command is options -> one core call -> a table for people or one JSON document
(:mod:`rnnforecast.cli.commands`, written by :mod:`rnnforecast.cli.render` and
:mod:`rnnforecast.cli.output`); errors become one stderr line and an exit code in one place
(:mod:`rnnforecast.cli.exits`); :mod:`rnnforecast.cli.process` sets up the process the
command line owns.
"""
