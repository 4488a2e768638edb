"""How long the diagnosis's animations are: frames per animation (evenly spaced over the
sequence) and their rate, shared by the decoded, relevance and pyramid views. Rendering time
and the report's size grow with the frame count; 20 frames at 8 fps keep a sequence ~2.5 s."""

GIF_FRAMES = 20
GIF_FPS = 8
