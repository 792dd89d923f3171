"""Features of a purchase, from the purchase itself and its customer's earlier purchases.

Pure: a DataFrame of gold purchases (PURCHASE_COLUMNS) in, one row of FEATURES per purchase
out, in the same order. Training and scoring call the same function on the whole of gold. The
counts, hour_deviation and country_mismatch look only at the customer's purchases *before* this
one (ties in event_time broken by event_id), so they never change once computed; the prior of
amount_z_score and the frequencies are taken over all the purchases given, so they drift a
little as gold grows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

# The gold.fct_purchases columns the features read.
PURCHASE_COLUMNS = ["event_id", "event_time", "customer_id", "country", "category", "quantity",
                    "total_amount", "payment_method"]

FEATURES = [
    "amount",  # total_amount
    "log_amount",  # log(1 + total_amount)
    "amount_z_score",  # log amount against the customer's past purchases (shrunk to everyone's)
    "quantity",
    "purchases_last_10_minutes",  # the customer's purchases in the 10 minutes before this one
    "purchases_last_hour",  # ... in the hour before
    "purchases_last_day",  # ... and in the day before
    "hour_of_day",  # UTC
    "day_of_week",  # Monday = 0
    "hour_deviation",  # hours between this purchase and the customer's usual hour (0..12)
    "country_mismatch",  # 1 when the country is not the one most of the customer's past ones are from
    "category_frequency",  # share of all purchases in this category
    "payment_frequency",  # share of all purchases paid this way
    "category_payment_frequency",  # share of all purchases with this category and payment method
]

# A customer's own statistics count as much as this many purchases of everyone's, so a
# customer with little history is compared mostly with everyone (and z-scores stay sane).
PRIOR_PURCHASES = 3.0
# Fewer past purchases than this say nothing about a customer's usual hour.
MIN_HOURS_HISTORY = 3
TEN_MINUTES, HOUR, DAY = (pd.Timedelta(minutes=10), pd.Timedelta(hours=1), pd.Timedelta(days=1))


def past_counts(customer: pd.Series, seconds: pd.Series, window: float) -> np.ndarray:
    """For each purchase, how many of the same customer's purchases fall in the `window`
    seconds before it. Both series are sorted by customer, then time."""
    codes = pd.factorize(customer, sort=False)[0]
    t = seconds.to_numpy(dtype=float)
    span = (t.max() - t.min()) if len(t) else 0.0
    # Lay the customers out one after another on one time line, far enough apart that one
    # customer's window never reaches into the previous one's purchases.
    line = (t - (t.min() if len(t) else 0.0)) + codes * (span + 2 * window + 1)
    position = np.arange(len(line))
    return position - np.searchsorted(line, line - window, side="left")


def circular_hour_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hours between times of day, around the clock (0..12)."""
    d = np.abs(a - b) % 24
    return np.minimum(d, 24 - d)


def frequency(codes: np.ndarray) -> np.ndarray:
    """Share of all rows holding each row's value, from the values' integer codes."""
    return np.bincount(codes)[codes] / len(codes)


def codes_of(values: pd.Series, sort: bool = False) -> tuple[np.ndarray, int]:
    """Integer codes of the values (in the order of the sorted values with `sort`), and how
    many distinct values there are."""
    codes, uniques = pd.factorize(values.astype(str), sort=sort)
    return codes, len(uniques)


def build_features(purchases: pd.DataFrame) -> pd.DataFrame:
    """FEATURES for every purchase, indexed like `purchases`.

    Strings become integer codes first and only the columns the features read are put in
    order (customer, time, event_id): sorting and reordering a million rows of strings took
    most of the time (docs/benchmarks.md)."""
    if purchases.empty:
        return pd.DataFrame(columns=FEATURES, index=purchases.index, dtype=float)
    event_time = pd.to_datetime(purchases["event_time"], utc=True)
    # Customers in the order of their ids, so their codes follow that order too.
    customer_codes, _ = codes_of(purchases["customer_id"], sort=True)
    microseconds = event_time.dt.tz_localize(None).to_numpy(dtype="datetime64[us]").astype(np.int64)
    keys = pa.table({"customer": customer_codes, "time": microseconds,
                     "event_id": pa.array(purchases["event_id"].astype(str), pa.string())})
    order = pc.sort_indices(keys, sort_keys=[("customer", "ascending"), ("time", "ascending"),
                                             ("event_id", "ascending")]).to_numpy()
    index = purchases.index[order]  # the labels, in feature order
    customer = pd.Series(customer_codes[order], index=index)
    time = event_time.iloc[order]
    by_customer = customer.groupby(customer, sort=False)

    amount = pd.Series(purchases["total_amount"].astype(float).to_numpy()[order], index=index)
    log_amount = np.log1p(amount)
    n_past = by_customer.cumcount().astype(float)

    def past_sum(values: pd.Series) -> pd.Series:
        return values.groupby(customer, sort=False).cumsum() - values

    # z-score of the log amount against the customer's earlier purchases, each statistic shrunk
    # towards everyone's by PRIOR_PURCHASES pseudo-purchases.
    everyone_mean, everyone_var = log_amount.mean(), log_amount.var(ddof=0)
    sum_past, sq_past = past_sum(log_amount), past_sum(log_amount**2)
    past_mean = sum_past / n_past.where(n_past > 0)
    past_ss = (sq_past - n_past * past_mean**2).clip(lower=0).fillna(0.0)
    mean = (sum_past + PRIOR_PURCHASES * everyone_mean) / (n_past + PRIOR_PURCHASES)
    var = (past_ss + PRIOR_PURCHASES * everyone_var) / (n_past + PRIOR_PURCHASES)
    amount_z = (log_amount - mean) / np.sqrt(var.clip(lower=1e-6))

    seconds = (time - time.min()).dt.total_seconds()
    last_10_minutes, last_hour, last_day = (
        past_counts(customer, seconds, window.total_seconds()) for window in (TEN_MINUTES, HOUR, DAY))

    # The customer's usual hour: the circular mean of the hours of their earlier purchases.
    hour = (time.dt.hour + time.dt.minute / 60).to_numpy(dtype=float)
    angle = pd.Series(hour * 2 * np.pi / 24, index=index)
    usual_hour = (np.arctan2(past_sum(np.sin(angle)), past_sum(np.cos(angle))) * 24 / (2 * np.pi)) % 24
    hour_deviation = np.where(n_past >= MIN_HOURS_HISTORY,
                              circular_hour_distance(hour, usual_hour.to_numpy()), 0.0)

    # Home: the country most of the customer's earlier purchases came from.
    country, countries = codes_of(purchases["country"])
    customer_country = customer.to_numpy().astype(np.int64) * countries + country[order]
    same_country_before = pd.Series(customer_country, index=index).groupby(
        customer_country, sort=False).cumcount()
    country_mismatch = (n_past > 0) & (same_country_before < n_past / 2)

    (category, _), (payment, payments) = (codes_of(purchases["category"]),
                                          codes_of(purchases["payment_method"]))
    features = pd.DataFrame(
        {
            "amount": amount,
            "log_amount": log_amount,
            "amount_z_score": amount_z,
            "quantity": purchases["quantity"].astype(float).to_numpy()[order],
            "purchases_last_10_minutes": last_10_minutes.astype(float),
            "purchases_last_hour": last_hour.astype(float),
            "purchases_last_day": last_day.astype(float),
            "hour_of_day": time.dt.hour.astype(float),
            "day_of_week": time.dt.day_of_week.astype(float),
            "hour_deviation": hour_deviation,
            "country_mismatch": country_mismatch.astype(float),
            "category_frequency": frequency(category)[order],
            "payment_frequency": frequency(payment)[order],
            "category_payment_frequency": frequency(category.astype(np.int64) * payments + payment)[order],
        },
        index=index,
    )
    # back to the input's order: row i of the features is purchase order[i]
    return features.iloc[np.argsort(order)][FEATURES]
