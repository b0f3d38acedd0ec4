"""``sing app``: play, blend and render in the browser, and a blind listening test.

:mod:`sing.app.session` (the page's logic as plain functions), :mod:`sing.app.listening`
(trials on held-out notes, the answers CSV) and :mod:`sing.app.ui` (the Gradio page).
"""
