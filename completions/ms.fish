# fish completion for ms. Generated from mscli.cli.build_parser() by
# `python scripts/generate.py`; edit the parser or mscli/completion/, not this file.
# Install: copy it to ~/.config/fish/completions/ms.fish

# The command (devices, caps, ...) on the line so far, or nothing. The general options before
# it take no value, so it is the first word that is not an option.
function __ms_command
    for word in (commandline -opc)[2..-1]
        if not string match -q -- '-*' $word
            echo $word
            return
        end
    end
end

# Whether the line is at command $argv[1] (no argument: at no command yet).
function __ms_in
    set -l command (__ms_command)
    test "$command" = "$argv[1]"
end

# Whether the word being completed is positional argument $argv[2] (from 0) of command
# $argv[1]: words after the command that are neither options nor their values.
function __ms_positional
    set -l command
    set -l count 0
    set -l skip 0
    for word in (commandline -opc)[2..-1]
        if test $skip = 1
            set skip 0
        else if test -z "$command"
            string match -q -- '-*' $word; or set command $word
        else if contains -- $word (__ms_valued $command)
            set skip 1
        else if not string match -q -- '-*' $word
            set count (math $count + 1)
        end
    end
    test "$command" = "$argv[1]" -a $count = $argv[2] -a $skip = 0
end

# DEVICE: what `ms devices --complete=$argv[1]` prints (VALUE, tab, description: inputs,
# or speakers) for the --fake/--devices typed so far; fish escapes the spaces in labels.
function __ms_devices
    set -l words (commandline -opc)
    set -l args
    for i in (seq 2 (count $words))
        set -l file
        switch $words[$i]
            case --fake
                set -a args --fake
            case --devices
                test $i -lt (count $words); and set file $words[(math $i + 1)]
            case '--devices=*'
                set file (string replace -- --devices= '' $words[$i])
        end
        test -n "$file"; and set -a args --devices (string replace -r -- '^~/' "$HOME/" $file)
    end
    set -l program (string replace -r -- '^~/' "$HOME/" $words[1])
    set -l which $argv[1]
    test -n "$which"; or set which inputs
    command $program devices --complete=$which $args 2>/dev/null
end

# Options that take a value, per command (for __ms_positional).
function __ms_valued
    switch $argv[1]
        case devices
            echo --devices --events
        case caps
            echo --devices
        case supported
            return
        case resolve
            echo -c --constraints --devices
        case capture
            echo -c --constraints --devices -o --output --play --speaker -f --format --video-codec --audio-codec --crf --bitrate -t --duration --frames --events --stats --black-level --frozen-after --silence-below --silence-after --expect --report --junit
        case schema
            return
    end
end

complete -c ms -f

# ms [general options] COMMAND
complete -c ms -n '__ms_in' -s h -l help -d 'show this help message and exit'
complete -c ms -n '__ms_in' -l version -d 'show program\'s version number and exit'
complete -c ms -n '__ms_in' -s q -l quiet -d 'no warnings, events or live view on stderr; errors and data only (--events FILE still gets events)'
complete -c ms -n '__ms_in' -s v -l verbose -d 'more detail on stderr (what ms chose, backend start-up noise)'
complete -c ms -n '__ms_in' -l no-color -d 'no colour in tables and the live view (also NO_COLOR=1)'
complete -c ms -n '__ms_in' -l traceback -d 'show the Python traceback of an unexpected failure'
complete -c ms -n __ms_in -a devices -d 'List cameras, microphones and speakers (enumerateDevices).'
complete -c ms -n __ms_in -a caps -d 'Show what an input device can do (getCapabilities), or what a speaker takes.'
complete -c ms -n __ms_in -a supported -d 'List the constraint names ms honours (getSupportedConstraints).'
complete -c ms -n __ms_in -a resolve -d 'Choose devices and settings as getUserMedia would, without opening anything.'
complete -c ms -n __ms_in -a capture -d 'Open the devices getUserMedia would choose and record or pipe their tracks; report events as they happen.'
complete -c ms -n __ms_in -a schema -d 'Print the JSON Schema of a file ms reads, for editors.'

# ms devices
complete -c ms -n '__ms_in devices' -s h -l help -d 'show this help message and exit'
complete -c ms -n '__ms_in devices' -s q -l quiet -d 'no warnings, events or live view on stderr; errors and data only (--events FILE still gets events)'
complete -c ms -n '__ms_in devices' -s v -l verbose -d 'more detail on stderr (what ms chose, backend start-up noise)'
complete -c ms -n '__ms_in devices' -l no-color -d 'no colour in tables and the live view (also NO_COLOR=1)'
complete -c ms -n '__ms_in devices' -l traceback -d 'show the Python traceback of an unexpected failure'
complete -c ms -n '__ms_in devices' -l fake -d 'use the built-in virtual devices (a camera, a microphone, a speaker); also MS_FAKE=1'
complete -c ms -n '__ms_in devices' -l devices -r -F -d 'use the virtual devices described in FILE (JSON); also MS_DEVICES=FILE'
complete -c ms -n '__ms_in devices' -l json -d 'print JSON on stdout (the default when stdout is not a terminal)'
complete -c ms -n '__ms_in devices' -l reset-ids -d 'forget the secret behind deviceIds: every id changes'
complete -c ms -n '__ms_in devices' -l watch -d 'after the list, print a devicechange event (stderr) each time it changes, until Ctrl-C'
complete -c ms -n '__ms_in devices' -l events -r -F -a 'none' -d 'write events as NDJSON to FILE (- for stdout), or none; default: stderr (NDJSON, or readable on a terminal)'

# ms caps
complete -c ms -n '__ms_in caps' -s h -l help -d 'show this help message and exit'
complete -c ms -n '__ms_in caps' -s q -l quiet -d 'no warnings, events or live view on stderr; errors and data only (--events FILE still gets events)'
complete -c ms -n '__ms_in caps' -s v -l verbose -d 'more detail on stderr (what ms chose, backend start-up noise)'
complete -c ms -n '__ms_in caps' -l no-color -d 'no colour in tables and the live view (also NO_COLOR=1)'
complete -c ms -n '__ms_in caps' -l traceback -d 'show the Python traceback of an unexpected failure'
complete -c ms -n '__ms_in caps' -l modes -d 'also show the native modes behind the ranges'
complete -c ms -n '__ms_in caps' -l fake -d 'use the built-in virtual devices (a camera, a microphone, a speaker); also MS_FAKE=1'
complete -c ms -n '__ms_in caps' -l devices -r -F -d 'use the virtual devices described in FILE (JSON); also MS_DEVICES=FILE'
complete -c ms -n '__ms_in caps' -l json -d 'print JSON on stdout (the default when stdout is not a terminal)'
complete -c ms -n '__ms_positional caps 0' -a '(__ms_devices inputs)'

# ms supported
complete -c ms -n '__ms_in supported' -s h -l help -d 'show this help message and exit'
complete -c ms -n '__ms_in supported' -s q -l quiet -d 'no warnings, events or live view on stderr; errors and data only (--events FILE still gets events)'
complete -c ms -n '__ms_in supported' -s v -l verbose -d 'more detail on stderr (what ms chose, backend start-up noise)'
complete -c ms -n '__ms_in supported' -l no-color -d 'no colour in tables and the live view (also NO_COLOR=1)'
complete -c ms -n '__ms_in supported' -l traceback -d 'show the Python traceback of an unexpected failure'
complete -c ms -n '__ms_in supported' -l json -d 'print JSON on stdout (the default when stdout is not a terminal)'

# ms resolve
complete -c ms -n '__ms_in resolve' -s h -l help -d 'show this help message and exit'
complete -c ms -n '__ms_in resolve' -s q -l quiet -d 'no warnings, events or live view on stderr; errors and data only (--events FILE still gets events)'
complete -c ms -n '__ms_in resolve' -s v -l verbose -d 'more detail on stderr (what ms chose, backend start-up noise)'
complete -c ms -n '__ms_in resolve' -l no-color -d 'no colour in tables and the live view (also NO_COLOR=1)'
complete -c ms -n '__ms_in resolve' -l traceback -d 'show the Python traceback of an unexpected failure'
complete -c ms -n '__ms_in resolve' -s c -l constraints -r -F -d 'MediaStreamConstraints: a JSON file, - for stdin, or inline JSON starting with {'
complete -c ms -n '__ms_in resolve' -l fake -d 'use the built-in virtual devices (a camera, a microphone, a speaker); also MS_FAKE=1'
complete -c ms -n '__ms_in resolve' -l devices -r -F -d 'use the virtual devices described in FILE (JSON); also MS_DEVICES=FILE'
complete -c ms -n '__ms_in resolve' -l json -d 'print JSON on stdout (the default when stdout is not a terminal)'

# ms capture
complete -c ms -n '__ms_in capture' -s h -l help -d 'show this help message and exit'
complete -c ms -n '__ms_in capture' -s q -l quiet -d 'no warnings, events or live view on stderr; errors and data only (--events FILE still gets events)'
complete -c ms -n '__ms_in capture' -s v -l verbose -d 'more detail on stderr (what ms chose, backend start-up noise)'
complete -c ms -n '__ms_in capture' -l no-color -d 'no colour in tables and the live view (also NO_COLOR=1)'
complete -c ms -n '__ms_in capture' -l traceback -d 'show the Python traceback of an unexpected failure'
complete -c ms -n '__ms_in capture' -s c -l constraints -r -F -d 'MediaStreamConstraints: a JSON file, - for stdin, or inline JSON starting with {'
complete -c ms -n '__ms_in capture' -l fake -d 'use the built-in virtual devices (a camera, a microphone, a speaker); also MS_FAKE=1'
complete -c ms -n '__ms_in capture' -l devices -r -F -d 'use the virtual devices described in FILE (JSON); also MS_DEVICES=FILE'
complete -c ms -n '__ms_in capture' -s o -l output -r -F -a 'speaker' -d 'PATH (format from the extension: .mkv .webm .mp4 .mov .nut .y4m .wav .ogg .opus .flac .png .jpg), - for stdout, null to discard, speaker or speaker:DEVICE to play the audio track, a URL to publish (udp:// tcp:// rtp:// MPEG-TS, rtmp:// FLV, rtsp:// RECORD; protocol options in its query; whip+http(s):// WebRTC, the webrtc extra), or KIND=OUT to send one track kind (video=, audio=); repeatable'
complete -c ms -n '__ms_in capture' -l play -r -F -d 'play FILE\'s audio on the default speaker (or --speaker) in real time while capturing: the far end of an echo or latency test'
complete -c ms -n '__ms_in capture' -l speaker -r -f -a '(__ms_devices speaker)' -d 'the speaker --play plays on: a deviceId, label:TEXT or index:N'
complete -c ms -n '__ms_in capture' -s f -l format -r -f -a 'matroska webm mp4 mov nut y4m wav ogg opus flac png jpg' -d 'container for -o - (matroska, nut, y4m, wav, ...) or to override an extension'
complete -c ms -n '__ms_in capture' -s y -l overwrite -d 'replace existing output files'
complete -c ms -n '__ms_in capture' -l video-codec -r -f -d 'e.g. libx264, libvpx-vp9, ffv1; copy stores a file-backed device\'s packets, or a V4L2 camera\'s MJPEG/H.264 (mkv, mp4, nut; H.264 not mkv) or YUYV as rawvideo (nut, mkv), as they are (native settings only; no content checks; faults that change or drop frames refused)'
complete -c ms -n '__ms_in capture' -l audio-codec -r -f -d 'e.g. libopus, aac, flac; copy as for --video-codec'
complete -c ms -n '__ms_in capture' -l crf -r -f -d 'video quality (x264: 0-51)'
complete -c ms -n '__ms_in capture' -l bitrate -r -f -d 'e.g. 2M, 128k'
complete -c ms -n '__ms_in capture' -s t -l duration -r -f -d 'stop after this much capture time'
complete -c ms -n '__ms_in capture' -l frames -r -f -d 'stop after N video frames'
complete -c ms -n '__ms_in capture' -l unpaced -d 'virtual and file sources run as fast as the outputs take frames (timestamps stay at the nominal rate); real devices ignore it'
complete -c ms -n '__ms_in capture' -l events -r -F -a 'none' -d 'write events as NDJSON to FILE (- for stdout), or none; default: stderr (NDJSON, or readable on a terminal)'
complete -c ms -n '__ms_in capture' -l stats -r -f -d 'emit a stats event per track every SECONDS: the spec\'s track statistics (delivered, discarded, total frames; audio latency), also in the stopped event'
complete -c ms -n '__ms_in capture' -l reapply -d 'on SIGHUP, re-read the constraints file and apply it to the live tracks (applyConstraints)'
complete -c ms -n '__ms_in capture' -l reconnect -d 'when a device goes away and comes back, go on recording from it (removetrack, then addtrack; one output, one timeline); when a URL output\'s server goes away, retry it with backoff (0.5, 1, 2, 4, then every 8 s) while the other outputs go on'
complete -c ms -n '__ms_in capture' -l no-content -d 'do not watch the content (no content events or totals)'
complete -c ms -n '__ms_in capture' -l black-level -r -f -d 'video is black when 98 percent of its luma is at or below LUMA, 0-255 (default 32)'
complete -c ms -n '__ms_in capture' -l frozen-after -r -f -d 'video is frozen when its picture stays the same this long (default 0.5)'
complete -c ms -n '__ms_in capture' -l silence-below -r -f -d 'audio is silent when its RMS level is below DBFS (default -60)'
complete -c ms -n '__ms_in capture' -l silence-after -r -f -d 'audio is silence when below that level this long (default 0.5)'
complete -c ms -n '__ms_in capture' -l expect -r -f -d '\'KIND.METRIC OP VALUE\' to check when the capture stops, e.g. \'video.fps >= 24\' (OP: >= <= > < == !=; metrics: frames fps drops black frozen silence level peak clipping latency.p50 latency.p99 echo_delay events.NAME); exit 6 if one does not hold; repeatable'
complete -c ms -n '__ms_in capture' -l report -r -F -d 'write each expectation\'s result and the tracks\' statistics to FILE as JSON (- for stdout)'
complete -c ms -n '__ms_in capture' -l junit -r -F -d 'write the expectations to FILE as JUnit XML for CI (one testcase each)'

# ms schema
complete -c ms -n '__ms_in schema' -s h -l help -d 'show this help message and exit'
complete -c ms -n '__ms_in schema' -s q -l quiet -d 'no warnings, events or live view on stderr; errors and data only (--events FILE still gets events)'
complete -c ms -n '__ms_in schema' -s v -l verbose -d 'more detail on stderr (what ms chose, backend start-up noise)'
complete -c ms -n '__ms_in schema' -l no-color -d 'no colour in tables and the live view (also NO_COLOR=1)'
complete -c ms -n '__ms_in schema' -l traceback -d 'show the Python traceback of an unexpected failure'
complete -c ms -n '__ms_positional schema 0' -a 'constraints devices' -d 'constraints (-c) or devices (--devices)'
