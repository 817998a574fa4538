COMMENT
A potassium leak with its own name, so loading it proves the model's mechanisms
were compiled and loaded (NEURON has no built-in "kleak").
ENDCOMMENT

NEURON {
    SUFFIX kleak
    USEION k READ ek WRITE ik
    RANGE gbar, ik
}

UNITS {
    (mV) = (millivolt)
    (mA) = (milliamp)
    (S) = (siemens)
}

PARAMETER {
    gbar = 1e-4 (S/cm2)
}

ASSIGNED {
    v (mV)
    ek (mV)
    ik (mA/cm2)
}

BREAKPOINT {
    ik = gbar * (v - ek)
}
