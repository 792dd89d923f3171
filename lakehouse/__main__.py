from lakehouse.cli import app

app(prog_name="lakehouse")
