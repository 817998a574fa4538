"""NEURON's globals and integrator as a fresh NEURON process has them: a new model never
sees the last model's or run's dt, CVode or temperature (plain NEURON starts fresh)."""

FRESH_SETTINGS = {"t": 0.0, "dt": 0.025, "tstop": 5.0, "v_init": -65.0, "celsius": 6.3, "secondorder": 0,
                  "steps_per_ms": 40.0}
CVODE_SETTINGS = ("atol", "rtol", "use_local_dt", "condition_order", "maxorder", "stiff", "maxstep", "minstep")


def fresh_settings(h):
    """Put NEURON's globals and integrator back as a fresh NEURON has them."""
    for name, value in FRESH_SETTINGS.items():
        setattr(h, name, value)
    cvode = h.CVode()
    cvode.active(0)
    for name, value in fresh_cvode(cvode).items():  # local steps, order, stiffness, step bounds
        getattr(cvode, name)(value)
    h.ParallelContext().nthread(1)  # a threaded run must not make the next model threaded


_FRESH_CVODE = {}


def fresh_cvode(cvode):
    """CVode's own settings as a fresh NEURON has them, read before the first model loads."""
    if not _FRESH_CVODE:
        _FRESH_CVODE.update({name: getattr(cvode, name)() for name in CVODE_SETTINGS})
    return _FRESH_CVODE
