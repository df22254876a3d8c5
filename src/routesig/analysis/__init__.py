"""Analysis of routing signatures: do prompts of the same category route alike, and is it more than chance,
load balancing, prompt length or word choice?

Entry point: :func:`routesig.analysis.pipeline.analyze` (also ``routesig.analyze`` and ``routesig analyze``).
The modules are usable on their own: :mod:`similarity`, :mod:`probe`, :mod:`baselines`, :mod:`layers`,
:mod:`projections`, :mod:`controls`, :mod:`experts`, :mod:`bootstrap`.
"""
