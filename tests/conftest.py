import matplotlib

matplotlib.use("Agg")  # no display in tests; notebooks use the inline backend
