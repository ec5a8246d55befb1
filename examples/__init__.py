"""The bundled example answers, shipped as data: scale.py builds its reference set from them."""
