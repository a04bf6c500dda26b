"""Examiner: render SMPL bodies and search for poses where a model fails.

Modules (import them directly; this package imports nothing heavy on its own):

- ``smpl_files``: restricted unpickler for official SMPL ``.pkl`` files and the ``.npz`` loader.
- ``mannequin``: the procedural SMPL-format body shipped in ``posebench/data/mannequin/``.
- ``body``: :class:`~posebench.examiner.body.BodyModel`, batched pose/shape -> vertices, joints.
- ``anny_body``: :class:`~posebench.examiner.anny_body.AnnyBody`, the default realistic body (anny).
- ``backgrounds``: photo crops without people and procedural textures behind the bodies.
- ``modes``: failure modes in words and their check on real photos.
- ``camera``: pinhole cameras on an orbit around the body (azimuth, elevation, distance).
- ``render``: batched torch rasteriser (z-buffer, Lambert shading, backgrounds, occluders).
- ``joints``: body joints -> an adapter's skeleton (COCO-17) in pixels with visibility.
"""
