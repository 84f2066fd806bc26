"""What the analyses' table scripts share (standard library only): a value over seeds as mean ± standard
deviation, Spearman's rank correlation, and which training runs diverged. Each script puts this directory on its
path."""

import math
import statistics

# Every data set of the analyses has 10 classes.
CLASSES = 10


def diverged(train_log):
    """Whether a run (its `train.json`) ended predicting the uniform distribution: a last-epoch training loss of
    at least 0.99·ln(classes), where a network whose units all died stays. Such a run is no trained model, and the
    tables leave it out (and say so)."""
    return last_loss(train_log) >= 0.99 * math.log(CLASSES)


def last_loss(train_log):
    """The last epoch's training loss of a run's `train.json`."""
    return train_log["data"]["epochs"][-1]["train_objective"]["loss"]


def spread(values, digits=3, decimals=None):
    """`mean ± sd` of the values that are not None (one value alone, `–` for none): `digits` significant digits
    (the sd with 2), or `decimals` fixed decimals for both."""
    values = [v for v in values if v is not None]
    if not values:
        return "–"
    if decimals is not None:
        if len(values) == 1:
            return f"{values[0]:.{decimals}f}"
        return f"{statistics.mean(values):.{decimals}f} ± {statistics.stdev(values):.{decimals}f}"
    if len(values) == 1:
        return f"{values[0]:.{digits}g}"
    return f"{statistics.mean(values):.{digits}g} ± {statistics.stdev(values):.2g}"


def ranks(values):
    """Ranks 1..n, ties given their average rank."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    out = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in order[i : j + 1]:
            out[k] = (i + j) / 2 + 1
        i = j + 1
    return out


def spearman(a, b):
    """Spearman's ρ of two paired samples (Pearson's correlation of their ranks); None where a side is constant."""
    ra, rb = ranks(a), ranks(b)
    ma, mb = statistics.mean(ra), statistics.mean(rb)
    num = sum((x - ma) * (y - mb) for x, y in zip(ra, rb))
    den = (sum((x - ma) ** 2 for x in ra) * sum((y - mb) ** 2 for y in rb)) ** 0.5
    return num / den if den else None
