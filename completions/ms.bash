# bash completion for ms. Generated from mscli.cli.build_parser() by
# `python scripts/generate.py`; edit the parser or mscli/completion/, not this file.
# Install: source it from ~/.bashrc, or copy it to ~/.local/share/bash-completion/completions/ms

# The words of $1 as the shell will hand them to ms (quotes and backslashes removed), in
# _ms_words, and the quote still open at its end in _ms_quote. COMP_WORDS is no use for
# this: bash splits it at : and = and leaves the quotes in.
_ms_split() {
    local line=$1 word="" quote="" c i inword=0
    _ms_words=()
    for ((i = 0; i < ${#line}; i++)); do
        c=${line:i:1}
        if [[ $quote == "'" ]]; then
            if [[ $c == "'" ]]; then quote=""; else word+=$c; fi
        elif [[ $quote == '"' ]]; then
            if [[ $c == '"' ]]; then quote=""
            elif [[ $c == '\' && ${line:i+1:1} == [\"\\\$\`] ]]; then ((i++)); word+=${line:i:1}
            else word+=$c; fi
        elif [[ $c == '\' ]]; then
            ((i++)); word+=${line:i:1}; inword=1
        elif [[ $c == [\"\'] ]]; then
            quote=$c; inword=1
        elif [[ $c == [[:space:]] ]]; then
            ((inword)) && _ms_words+=("$word")
            word="" inword=0
        else
            word+=$c; inword=1
        fi
    done
    _ms_words+=("$word")
    _ms_quote=$quote
}

# Offer each argument (a whole value) that starts with $_ms_cur. Readline replaces only the
# part of the word after its last : or = (COMP_WORDBREAKS) or opening quote, $_ms_rl, so
# what comes before that is cut from each candidate.
_ms_offer() {
    local pre="" c
    [[ $_ms_cur == *"$_ms_rl" ]] && pre=${_ms_cur%"$_ms_rl"}
    for c in "$@"; do
        [[ $c == "$_ms_cur"* ]] && COMPREPLY+=("${c#"$pre"}")
    done
}

# File names; with -o filenames readline quotes them (spaces, quotes) as the line needs.
# $1: a prefix the value may carry before the file name (video= for -o video=FILE).
_ms_files() {
    local prefix=${1-} f
    [[ -n $prefix && $_ms_cur != "$prefix"* ]] && return
    compopt -o filenames 2>/dev/null
    while IFS= read -r f; do
        _ms_offer "$prefix$f"
    done < <(compgen -f -- "${_ms_cur#"$prefix"}")
}

# -o: a file, or KIND=FILE for one track kind.
_ms_output() {
    case $_ms_cur in
        video=*) _ms_files video= ;;
        audio=*) _ms_files audio= ;;
        *) _ms_files ;;
    esac
}

# DEVICE: what `ms devices --complete=$1` prints (inputs, or speakers) for the
# --fake/--devices typed so far (and MS_FAKE/MS_DEVICES, which it reads as ms does).
# Labels may hold spaces, quotes, $(...):
# each candidate is quoted here for where the cursor is (_ms_quoted); inside quotes
# readline adds the closing quote. (-o filenames would escape too, but also the : of a
# label: it inserts as label\:Desk, and it leaves $ and ` live inside double quotes.)
_ms_devices() {
    local args=() i w prog=${_ms_words[0]} value which=${1:-inputs}
    for ((i = 1; i < ${#_ms_words[@]} - 1; i++)); do
        w=${_ms_words[i]}
        case $w in
            --fake) args+=(--fake) ;;
            --devices) ((i + 1 < ${#_ms_words[@]} - 1)) && args+=(--devices "${_ms_words[i+1]}") ;;
            --devices=*) args+=(--devices "${w#--devices=}") ;;
        esac
    done
    for ((i = 0; i < ${#args[@]}; i++)); do
        [[ ${args[i]} == "~/"* ]] && args[i]=$HOME/${args[i]:2}
    done
    [[ $prog == "~/"* ]] && prog=$HOME/${prog:2}
    local before=${#COMPREPLY[@]}
    while IFS=$'\t' read -r value _; do
        [[ -n $value ]] && _ms_offer "$value"
    done < <("$prog" devices --complete="$which" "${args[@]}" 2>/dev/null)
    for ((i = before; i < ${#COMPREPLY[@]}; i++)); do
        _ms_quoted "${COMPREPLY[i]}"
        COMPREPLY[i]=$_ms_text
    done
}

# $1 as the line needs it after the quote still open ($_ms_quote), in _ms_text, so that the
# shell hands ms the text itself and never runs any of it. Outside quotes: printf %q.
# In '...': a ' closes, is escaped and reopens. In "...": \ $ ` " take a backslash, and !
# goes outside them ("\!"): inside, the backslash that stops history expansion stays.
_ms_quoted() {
    local text=$1 q="'" b='\'
    case $_ms_quote in
        "'") text=${text//"$q"/"$q$b$q$q"} ;;
        '"')
            text=${text//"$b"/"$b$b"}
            text=${text//'$'/"$b\$"}
            text=${text//'`'/"$b\`"}
            text=${text//'"'/"$b\""}
            text=${text//'!'/"\"$b!\""}
            ;;
        *) printf -v text %q "$text" ;;
    esac
    _ms_text=$text
}

# The value of option $2 of command $1.
_ms_value() {
    case $1:$2 in
        devices:--devices) _ms_files ;;
        devices:--events) _ms_files; _ms_offer none ;;
        caps:--devices) _ms_files ;;
        resolve:-c|resolve:--constraints) _ms_files ;;
        resolve:--devices) _ms_files ;;
        capture:-c|capture:--constraints) _ms_files ;;
        capture:--devices) _ms_files ;;
        capture:-o|capture:--output) _ms_output; _ms_offer speaker ;;
        capture:--play) _ms_files ;;
        capture:--speaker) _ms_devices speaker ;;
        capture:-f|capture:--format) _ms_offer matroska webm mp4 mov nut y4m wav ogg opus flac png jpg ;;
        capture:--video-codec) : ;;
        capture:--audio-codec) : ;;
        capture:--crf) : ;;
        capture:--bitrate) : ;;
        capture:-t|capture:--duration) : ;;
        capture:--frames) : ;;
        capture:--events) _ms_files; _ms_offer none ;;
        capture:--stats) : ;;
        capture:--black-level) : ;;
        capture:--frozen-after) : ;;
        capture:--silence-below) : ;;
        capture:--silence-after) : ;;
        capture:--expect) : ;;
        capture:--report) _ms_files ;;
        capture:--junit) _ms_files ;;
    esac
}

# Positional argument number $2 (from 0) of command $1.
_ms_positional() {
    case $1:$2 in
        caps:0) _ms_devices inputs ;;
        schema:0) _ms_offer constraints devices ;;
    esac
}

_ms() {
    COMPREPLY=()
    local _ms_words _ms_quote _ms_cur _ms_rl=${2-}
    # What readline replaces, without the shell quoting it still has when no quote is open.
    if [[ $_ms_rl == *\\* ]]; then
        _ms_split "${COMP_LINE:0:COMP_POINT}"
        if [[ -z $_ms_quote ]]; then
            _ms_split "$_ms_rl"
            _ms_rl=${_ms_words[${#_ms_words[@]} - 1]}
        fi
    fi
    _ms_split "${COMP_LINE:0:COMP_POINT}"
    local n=${#_ms_words[@]}
    _ms_cur=${_ms_words[n - 1]}

    local command="" at=0 i
    for ((i = 1; i < n - 1; i++)); do
        if [[ ${_ms_words[i]} != -* ]]; then command=${_ms_words[i]} at=$i; break; fi
    done
    if [[ -z $command ]]; then
        if [[ $_ms_cur == -* ]]; then _ms_offer -h --help --version -q --quiet -v --verbose --no-color --traceback; else _ms_offer devices caps supported resolve capture schema; fi
        return 0
    fi

    local options valued
    case $command in
        devices) options="-h --help -q --quiet -v --verbose --no-color --traceback --fake --devices --json --reset-ids --watch --events" valued="--devices --events" ;;
        caps) options="-h --help -q --quiet -v --verbose --no-color --traceback --modes --fake --devices --json" valued="--devices" ;;
        supported) options="-h --help -q --quiet -v --verbose --no-color --traceback --json" valued="" ;;
        resolve) options="-h --help -q --quiet -v --verbose --no-color --traceback -c --constraints --fake --devices --json" valued="-c --constraints --devices" ;;
        capture) options="-h --help -q --quiet -v --verbose --no-color --traceback -c --constraints --fake --devices -o --output --play --speaker -f --format -y --overwrite --video-codec --audio-codec --crf --bitrate -t --duration --frames --unpaced --events --stats --reapply --reconnect --no-content --black-level --frozen-after --silence-below --silence-after --expect --report --junit" valued="-c --constraints --devices -o --output --play --speaker -f --format --video-codec --audio-codec --crf --bitrate -t --duration --frames --events --stats --black-level --frozen-after --silence-below --silence-after --expect --report --junit" ;;
        schema) options="-h --help -q --quiet -v --verbose --no-color --traceback" valued="" ;;
        *) return 0 ;;
    esac

    local prev=${_ms_words[n - 2]}
    if [[ $_ms_cur == --*=* && " $valued " == *" ${_ms_cur%%=*} "* ]]; then
        local option=${_ms_cur%%=*}
        _ms_cur=${_ms_cur#*=}
        _ms_value "$command" "$option"
    elif ((n - 2 > at)) && [[ " $valued " == *" $prev "* ]]; then
        _ms_value "$command" "$prev"
    elif [[ $_ms_cur == -* ]]; then
        _ms_offer $options
    else
        local k=0
        for ((i = at + 1; i < n - 1; i++)); do
            if [[ " $valued " == *" ${_ms_words[i]} "* ]]; then ((i++))
            elif [[ ${_ms_words[i]} != -* ]]; then ((k++)); fi
        done
        _ms_positional "$command" "$k"
    fi
    return 0
}

complete -F _ms ms
