import matplotlib

matplotlib.use("Agg")  # unit tests draw without a display; notebooks keep their inline backend
