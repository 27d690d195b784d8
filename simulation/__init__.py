"""A calibrated year of Flanders: a synthetic population of adult newcomers (:mod:`.population`),
the published 2023 figures it is calibrated on (:mod:`.calibration`), and the driver that runs it
through the real register import, HTTP API and daily sweep (:mod:`.driver`)."""
