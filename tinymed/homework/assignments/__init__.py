"""The six assignments, one per tutorial: each a module of checks (points and visibility in one
place) beside its instructor notebook (`<module>.ipynb`, solutions between `### BEGIN SOLUTION`
and `### END SOLUTION`)."""
