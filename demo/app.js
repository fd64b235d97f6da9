// gatecast demo — placeholder until the demo page lands (issue 6).
