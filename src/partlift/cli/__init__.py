"""partlift's command-line interface: a thin layer over the library (see ``main``)."""
