"""Motion analysis: the decode loop feeding core.motion, on its own thread per camera."""
