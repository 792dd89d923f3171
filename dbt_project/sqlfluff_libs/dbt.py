"""Stand-ins for dbt's cross-database macros when sqlfluff renders the models with its jinja
templater (no adapter, no Spark session): each returns the Spark SQL the local target gets."""


def date_trunc(datepart: str, date: str) -> str:
    return f"date_trunc('{datepart}', {date})"


def datediff(first_date: str, second_date: str, datepart: str) -> str:
    return f"datediff({second_date}, {first_date})"


def concat(fields: list[str]) -> str:
    return f"concat({', '.join(fields)})"


def type_string() -> str:
    return "string"
