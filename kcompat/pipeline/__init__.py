"""Running a check: paths -> artifacts -> findings -> verdicts -> the gate.

``runner`` drives one run over the paths; ``engine`` runs the selected rules of the catalog on one
artifact; ``verdict`` predicts each loader's outcome from the findings; ``loadcheck`` turns a
guarded load's attempts into findings; ``gate`` holds what decides and explains the exit code;
``baseline`` matches findings against a recorded baseline.
"""
