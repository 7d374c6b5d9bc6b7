"""Reading order of the example gallery (sphinx-gallery sort key)."""

#: examples in reading order; any other example follows, by file name
ORDER = [
    "plot_transport_2d.py",
    "plot_round_trip.py",
    "plot_color_transfer.py",
    "plot_domain_adaptation.py",
    "plot_digits_translation.py",
    "plot_benchmark_results.py",
]


class ExampleOrder:
    """Sort key: the position in :data:`ORDER`, then the file name."""

    def __init__(self, src_dir):
        self.src_dir = src_dir

    def __call__(self, filename):
        name = str(filename).rsplit("/", 1)[-1]
        rank = ORDER.index(name) if name in ORDER else len(ORDER)
        return (rank, name)

    def __repr__(self):
        return f"<{type(self).__name__}>"
