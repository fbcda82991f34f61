"""The fixed sample of the gate: one mutant per operator, the same one every run."""

from ironarchive_schema.mutation.mutant import Mutant


def subset(mutants: list[Mutant], equivalent: dict[str, str]) -> list[Mutant]:
    """The first mutant (by id) of each operator that is not known to be equivalent, in
    operator order."""
    first: dict[str, Mutant] = {}
    for mutant in sorted(mutants, key=lambda m: m.id):
        if mutant.id not in equivalent:
            first.setdefault(mutant.operator, mutant)
    return [first[op] for op in sorted(first)]
