"""Spoken prompts: espeak-ng (a Debian package) renders each prompt to a WAV file, aplay
(alsa-utils) plays it through ALSA.

``Speaker.say`` never blocks the caller: prompts go to one thread of their own, and a new
prompt cuts the one still playing short (the person has moved on; a queue of stale
prompts would talk over the screen). With ``save_dir`` the WAVs are kept there instead of
played: for tests, and for a volunteer checking the prompts on a machine without sound.

A speaker that fails (no sound card, a killed aplay) logs it and carries on: the screen
says everything it speaks. ``played`` and ``failed`` count how aplay ended (exit 0, or
not, or no aplay at all), a prompt cut short by the next one counted in neither: what a
test or a volunteer reads to know the prompts reach the sound card. A missing espeak-ng
is refused at start instead (``check``).
"""

from __future__ import annotations

import logging
import queue
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

log = logging.getLogger(__name__)

# espeak-ng's voice for each of the kiosk's languages.
VOICES = {"zh": "cmn", "en": "en"}
RENDER_TIMEOUT_S = 20.0
# A prompt is a sentence or two; anything longer is a mistake, not a prompt.
MAX_TEXT = 500


class SpeechError(Exception):
    pass


class Speaker:
    def __init__(self, *, rate: int = 150, volume: int = 100, device: str = "default",
                 save_dir: Path | None = None, espeak: str = "espeak-ng",
                 aplay: str = "aplay"):
        self.rate = rate
        self.volume = volume
        self.device = device
        self.save_dir = save_dir
        self.espeak = espeak
        self.aplay = aplay
        self.spoken = 0  # prompts rendered (and played, unless saved)
        self.played = 0  # aplay exited 0
        self.failed = 0  # aplay exited otherwise (no such device, no sound card), or failed
        self._cut = False  # the one playing was cut short by a newer prompt
        self._queue: queue.Queue[tuple[str, str] | None] = queue.Queue()
        self._playing: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._tmp = tempfile.TemporaryDirectory(prefix="kiosk-speech-")

    def check(self) -> None:
        """Raise ``SpeechError`` when a tool the speaker needs is not installed."""
        tools = [self.espeak] + ([] if self.save_dir is not None else [self.aplay])
        missing = [tool for tool in tools if shutil.which(tool) is None]
        if missing:
            raise SpeechError(f"[speech] enabled, but {', '.join(missing)} is not installed "
                              "(apt-get install espeak-ng alsa-utils)")

    def render(self, text: str, language: str, path: Path) -> Path:
        """``text`` spoken in ``language``, as a WAV file at ``path``."""
        if language not in VOICES:
            raise SpeechError(f"no voice for language {language!r}")
        # The text goes in on stdin: never an argument espeak-ng could take for an option.
        subprocess.run([self.espeak, "-v", VOICES[language], "-s", str(self.rate),
                        "-a", str(self.volume), "-w", str(path), "--stdin"],
                       input=text[:MAX_TEXT].encode("utf-8"), check=True,
                       capture_output=True, timeout=RENDER_TIMEOUT_S)
        return path

    def start(self) -> None:
        if self.save_dir is not None:
            self.save_dir.mkdir(parents=True, exist_ok=True)
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="speech", daemon=True)
            self._thread.start()

    def say(self, text: str, language: str) -> None:
        """Speak ``text`` soon, cutting short what is still being said."""
        self.start()
        while True:  # only the newest prompt matters
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        self._queue.put((text, language))
        self._stop_playing()

    def close(self) -> None:
        self._queue.put(None)
        self._stop_playing()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._tmp.cleanup()

    def _stop_playing(self) -> None:
        with self._lock:
            if self._playing is not None and self._playing.poll() is None:
                self._cut = True
                self._playing.terminate()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            try:
                self._speak(*item)
            except Exception:  # no sound card, a killed player: the screen says it all
                self.failed += 1
                log.warning("could not speak a prompt", exc_info=True)

    def _speak(self, text: str, language: str) -> None:
        n = self.spoken + 1
        folder = self.save_dir if self.save_dir is not None else Path(self._tmp.name)
        path = self.render(text, language, folder / f"prompt-{n:05d}-{language}.wav")
        self.spoken = n
        if self.save_dir is not None:
            return
        with self._lock:
            self._cut = False
            self._playing = subprocess.Popen([self.aplay, "-q", "-D", self.device, str(path)],
                                             stdout=subprocess.DEVNULL,
                                             stderr=subprocess.PIPE)
        _, err = self._playing.communicate()
        path.unlink(missing_ok=True)
        with self._lock:
            code, cut = self._playing.returncode, self._cut
        if code == 0:
            self.played += 1
        elif not cut:
            self.failed += 1
            log.warning("aplay -D %s exited %s: %s", self.device, code,
                        err.decode("utf-8", "replace").strip()[-200:])
