"""Every message a person can see, in one catalogue (in the manner of pyxform's errors.py).

A message has a stable code (R012: the letter is the area, see the section comments below), a
kind and ONE Japanese text with named placeholders. Code elsewhere never writes a sentence for a
person: it calls the catalogue entry with the values, `M.V016(name=ind.name, raw=raw, unit=u)`,
and gets a `Text` (a str that remembers its code). `Finding` and `PlanXlError` accept nothing
else, so a message without a code cannot reach a person (tests/test_messages.py also scans src/).

E-mail bodies and workbook labels and instructions are not messages: they live with their writers.

`python -m plan_xl.messages` prints docs/messages.md, the table of every message.
"""

from __future__ import annotations

import ast
import string
import sys
from pathlib import Path

# kinds: what a person sees the message as
ERROR = "誤り"  # a finding that must be fixed
WARNING = "注意"  # a finding to read (or check, see Finding.needs_action)
VERDICT = "判定"  # why a returned file was accepted or not (取りまとめ状況, screen)
STOP = "中止"  # a PlanXlError: the command stops, exit code 1
USAGE = "使い方"  # a UsageError: wrong options or arguments, exit code 2
VALUE = "値"  # a value that cannot be read (ValueError), shown inside another message
NOTICE = "お知らせ"  # what a command did or skipped, on screen (files skipped, mails not made)
PART = "部分"  # a fragment other messages embed
KINDS = (ERROR, WARNING, VERDICT, STOP, USAGE, VALUE, NOTICE, PART)


class Text(str):
    """A message as shown, remembering its code and kind."""

    code: str
    kind: str

    def __new__(cls, text: str, code: str, kind: str) -> Text:
        self = super().__new__(cls, text)
        self.code, self.kind = code, kind
        return self

    def __reduce__(self):  # keeps the code across process boundaries (collect workers)
        return Text, (str(self), self.code, self.kind)

    def followed_by(self, part: Text) -> Text:
        """This message with a fragment (a PART entry) after it, under this message's code."""
        return Text(self + part, self.code, self.kind)


class Message:
    """One catalogue entry; calling it with the placeholders' values gives the Text. An entry
    here gets its code from its name; a rule added from outside (collect/validate.RULES) makes
    its own with a code of its own, e.g. Message(WARNING, "…", code="X001")."""

    def __init__(self, kind: str, text: str, code: str = ""):
        if kind not in KINDS:
            raise ValueError(f"unknown kind {kind!r}")
        self.kind, self.text, self.code = kind, text, code
        self.fields = tuple(dict.fromkeys(f for _, f, _, _ in string.Formatter().parse(text) if f))

    def __call__(self, **values) -> Text:
        if set(values) != set(self.fields):
            raise TypeError(f"{self.code} takes {sorted(self.fields)}, got {sorted(values)}")
        return Text(self.text.format(**values), self.code, self.kind)

    def __repr__(self) -> str:
        return f"Message({self.code}, {self.kind}, {self.text!r})"

# --- R: register checks (plan-xl check; register/checks.py, evaluate.py)
R001 = Message(ERROR, "台帳を確認できません（{error_type}: {error}）。")
R002 = Message(ERROR, "確認「{rule}」を完了できませんでした（{error_type}: {error}）。"
                      "台帳の他の誤りを直してから再実行してください。")
R003 = Message(ERROR, "項目「{key}」がありません。")
R004 = Message(ERROR, "項目「{key}」は西暦の年度（例: 2022）にしてください: {value}")
R005 = Message(ERROR, "計画期間の開始年度が終了年度より後です。")
R006 = Message(ERROR, "計画期間は4年度までにしてください（行動計画の欄が4年度分です）。")
R007 = Message(ERROR, "{what}「{name}」は「{others}」の名称・別名と同じです。別名は1つの課にだけ付けてください。")
R008 = Message(ERROR, "メールアドレスの形式が正しくありません: {email}")
R009 = Message(WARNING, "メールアドレスが未登録です（メール送信ができません）。")
R010 = Message(ERROR, "取りまとめ課が所管課シートにありません。")
R011 = Message(ERROR, "重点推進目標{goal}がありません。")
R012 = Message(ERROR, "計画ID「{plan_id}」は「1-3-5」（重点推進目標-取組事項-番号）の形にしてください。")
R013 = Message(ERROR, "取組事項 {goal}-{initiative} が目標体系シートにありません。")
R014 = Message(ERROR, "実施計画名が空です。")
R015 = Message(ERROR, "所管課がありません。")
R016 = Message(ERROR, "5レスの項目「{item}」は不明です。")
R017 = Message(ERROR, "節が1つもありません（「節」シートに行を追加してください）。")
R018 = Message(ERROR, "{header}が重複しています（「{key}」、{first_row}行目と同じ）。どちらかの行の ID を直してください。")
R019 = Message(WARNING, "所管課「{department}」が計画の所管課に含まれていません。")
R020 = Message(ERROR, "所管課「{department}」は{end}年度で終了（{how}）していますが、{next_year}年度以降もこの{what}の所管課です。"
                      "{to_whom}変えるか（plan-xl plan merge-department）、"
                      "実施計画を終了してください（plan-xl plan retire）。")
R021 = Message(ERROR, "適用終了 {end}年度が適用開始 {start}年度より前です。")
R022 = Message(ERROR, "終了区分「{how}」は「{endings}」のどれかにしてください。")
R023 = Message(WARNING, "適用終了がありますが、終了区分（統合・完了・廃止など）が空です。")
R024 = Message(ERROR, "統合した場合は、統合先を「後継」に書いてください。")
R025 = Message(ERROR, "後継「{successor}」が台帳にありません。")
R026 = Message(ERROR, "節の適用開始 {start}年度が計画の適用開始 {plan_start}年度より前です。")
R027 = Message(ERROR, "取組内容が空です。")
R028 = Message(ERROR, "「{action}」の行動計画の年度 {start}〜{end} が計画期間（{first}〜{last}年度）"
                      "の外です。")
R029 = Message(ERROR, "「{action}」の行動計画 {start}〜{end}年度が、計画 {plan_id} の適用期間（{plan_start}〜{plan_end}年度）"
                      "の前から始まっています。")
R030 = Message(WARNING, "「{action}」の行動計画が、計画 {plan_id} の終了（{end}年度）の後の年度にもあります（終了後の年度の調査票・報告書には出ません）"
                        "。")
R031 = Message(ERROR, "半期の指定は1年度の中だけにしてください。")
R032 = Message(ERROR, "指標ID「{id}」は計画IDの後に「.番号」を付けた形（例: {plan_id}.1）にしてください。")
R033 = Message(ERROR, "指標「{name}」に単位がありません。")
R034 = Message(ERROR, "方向は「上」か「下」にしてください。")
R035 = Message(ERROR, "比較は「以上」「以下」または空欄にしてください。")
R036 = Message(ERROR, "目標年度 {target_year} が計画期間の外です。")
R037 = Message(ERROR, "目標値 {target} が「目標値の履歴」の最新の値 {latest} と違います。目標値を変えるときは「目標値の履歴」に行を追加してください（plan-xl plan target で記録できます）"
                      "。")
R038 = Message(ERROR, "適用開始 {start}年度が計画期間の外です。")
R039 = Message(ERROR, "目標値の表記「{name} {printed}」が指標 {id} の目標値 {target} と違います。"
                      "どちらかを直してください（plan-xl plan target は両方を直します）。")
R040 = Message(ERROR, "文字数が Excel の上限（{excel_max_text:,}字）を超えています。")
R041 = Message(ERROR, "同じ計画・節・年度の進捗が重複しています。")
R042 = Message(ERROR, "計画ID「{plan_id}」が計画シートにありません（計画の行を削除せず、適用終了年度を記入してください）"
                      "。")
R043 = Message(ERROR, "節{section}が節シートにありません。")
R044 = Message(ERROR, "{year}年度は計画 {plan_id} の適用期間（{start}〜{end}年度）の外です。")
R045 = Message(ERROR, "年度が計画期間の外です。")
R046 = Message(ERROR, "提出課「{department}」が所管課シートにありません。")
R047 = Message(ERROR, "同じ指標・年度の実績が重複しています。")
R048 = Message(ERROR, "指標ID「{indicator_id}」が指標シートにありません。")
R049 = Message(ERROR, "{year}年度は指標 {indicator_id} の適用期間の外です。")
R050 = Message(ERROR, "所管課「{name}」が所管課シートにありません（名称を変えたときは旧名を別名に残してください）"
                      "。")
R051 = Message(ERROR, "計画ID「{plan_id}」が計画シートにありません。")
R052 = Message(ERROR, "変更履歴の対象「{key}」が「{sheet}」シートにありません（行を削除しないでください）"
                      "。")
R053 = Message(ERROR, "行（{key}）が削除されています。行は削除せず、元に戻して「適用終了」と「終了区分」を記入してください（plan-xl plan retire でもできます）"
                      "。")
R054 = Message(ERROR, "Excel での変更が変更履歴に記録されていません（{what}）。plan-xl plan record --from 年度 --reason 理由 で記録してください。")
R055 = Message(ERROR, "同じ欄に記入課が複数あります（1つの欄は1つの課が記入します）。")
R056 = Message(ERROR, "計画IDが計画シートにありません。")
R057 = Message(ERROR, "記入課「{department}」が所管課シートにありません。")
R058 = Message(WARNING, "「{department}」は所管課ですが、記入する欄も参考送付の指定もありません（参考送付として扱います）"
                        "。「記入課」シートに関係課記入欄か参考送付を登録してください。")
R059 = Message(STOP, "台帳に誤りが {count} 件あるため、{action}を行いません。直してから、plan-xl check で確かめてください。"
                     "\n{shown}{more}")
R060 = Message(WARNING, "自己評価「{self_rating}」が評価基準にありません。")
R061 = Message(ERROR, "所管課「{name}」は台帳の表記「{canonical}」と違います（全角・半角や別名）。"
                      "「{canonical}」と書いてください。")
R062 = Message(ERROR, "所管課「{name}」が所管課シートにありません。")
R063 = Message(ERROR, "区分は「{kinds}」のいずれかにしてください（{kind}）。")
R064 = Message(ERROR, "記入課「{department}」はこの実施計画の所管課に含まれていません。")
R065 = Message(ERROR, "指標ID「{indicator_id}」はこの実施計画の指標にありません。")
R066 = Message(ERROR, "節 {section} はこの実施計画の進捗状況の単位ではありません（{sections}）。")
R067 = Message(ERROR, "「{department}」はこの進捗状況の主管課です。関係課記入欄は主管課以外の課に設けます。")
R068 = Message(PART, "後継の「{successor}」に")  # in R020
R069 = Message(PART, "後継の課に")  # in R020
R070 = Message(PART, "\n  …ほか {count} 件")  # in R059
R071 = Message(ERROR, "評価（A列）が空欄です。")
R072 = Message(ERROR, "評価「{label}」が複数あります。")
R073 = Message(ERROR, "達成率の下限 {minimum:.0%} は 0〜1000（%）の範囲にしてください。")
R074 = Message(ERROR, "達成率の下限が「実績なし」の行（実績がないときの評価）を1行だけにしてください。")
R075 = Message(ERROR, "達成率の下限が空欄の行（いちばん低い評価）を1行だけにしてください。")
R076 = Message(ERROR, "変動要因を求める増減の割合は正の数にしてください（例: 30）。")
R077 = Message(ERROR, "台帳の「情報」シートの reason_threshold_percent「{text}」が数値ではありません"
                      "（変動要因を求める増減の割合、例: 30）。")  # S023 as a finding of plan-xl check

# --- S: register storage: reading, saving and locking the register (register/store.py, model.py, lock.py)
S001 = Message(STOP, "台帳の「{sheet}」シート {header} 列の文字数が Excel の上限（{excel_max_text:,}字）"
                     "を超えるため保存できません。")
S002 = Message(STOP, "台帳 {path} に書き込めません。Excel などで開いている場合は閉じてから、もう一度実行してください（台帳は変更していません）"
                     "。")
S003 = Message(STOP, "台帳 {path} を保存できませんでした: {error}（台帳は変更していません）")
S004 = Message(ERROR, "「{header}」が日付・時刻になっています（{value}）。Excel が入力を日付と解釈しました。"
                      "セルの表示形式を「文字列」にして入力し直してください。")
S005 = Message(ERROR, "「{header}」が数値ではありません: {value}")
S006 = Message(ERROR, "「{header}」が数値ではありません: {shown}")
S007 = Message(ERROR, "「{header}」は整数で入力してください: {value:g}")
S008 = Message(STOP, "台帳 {path} が見つかりません。")
S009 = Message(STOP, "台帳 {path} を読めません（壊れているか xlsx ではありません）: {error}")
S010 = Message(STOP, "台帳 {name} にシート「{missing}」がありません。")
S011 = Message(STOP, "{name}「{sheet}」シートに列「{missing}」がありません。見出し行（1行目）"
                     "を確認してください。")
S012 = Message(ERROR, "列「{header}」が2つあります。どちらか一方にしてください。")
S013 = Message(PART, "（この行は読み飛ばしました）")  # after a row's problem (S004-S007, S015-S022)
S014 = Message(ERROR, "next_era は「元号:開始年度」（例: 新元号:2041）にしてください: {error}")
S015 = Message(ERROR, "計画IDが重複しています（「{plan_id}」{name}）")
S016 = Message(ERROR, "計画ID「{plan_id}」が「計画」シートにありません")
S017 = Message(ERROR, "{plan_id} の節{number}が重複しています")
S018 = Message(ERROR, "半期は「前」「後」または空欄にしてください: {half}")
S019 = Message(ERROR, "{plan_id} の節{section}が「節」シートにありません")
S020 = Message(ERROR, "「行」は1以上の番号にしてください: {r_no}")
S021 = Message(ERROR, "指標IDが重複しています（「{id}」）")
S022 = Message(ERROR, "指標ID「{indicator_id}」が「指標」シートにありません")
S023 = Message(STOP, "台帳の「情報」シートの reason_threshold_percent「{text}」が数値ではありません（変動要因を求める増減の割合、"
                     "例: 30）。")
S024 = Message(STOP, "ほかの取りまとめ処理が実行中です（{host} で {started} 開始、プロセス {pid}）"
                     "。終わってからもう一度実行してください。実行中でないことが確かな場合は、ロックファイル {path} を削除してください。")
S025 = Message(STOP, "ロックファイル {path} を作成できません。")
S026 = Message(NOTICE, "前回の実行（{started} 開始、プロセス {pid}）が途中で終了した際のロックが残っていたため解除しました。")

# --- H: register history: plan-xl plan … edits (register/history.py)
H001 = Message(STOP, "行が削除されています（{rows}）。元に戻し、終わるものは「適用終了」「終了区分」を記入してください。")
H002 = Message(USAGE, "変更の理由を --reason で指定してください（変更履歴に残ります）。")
H003 = Message(USAGE, "指標「{indicator_id}」は台帳にありません（「指標」シートの指標ID、例: 1-3-5.1）"
                      "。")
H004 = Message(USAGE, "実施計画「{plan_id}」は台帳にありません（「計画」シートの計画ID、例: 1-3-2）"
                      "。")
H005 = Message(USAGE, "統合のときは統合先を --into で指定してください（例: --into 1-3-1）。")
H006 = Message(USAGE, "統合先「{successor}」は台帳にありません。")
H007 = Message(USAGE, "計画ID「{plan_id}」は既にあります。")
H008 = Message(USAGE, "計画ID「{plan_id}」は「1-3-9」の形にしてください。")
H009 = Message(USAGE, "所管課「{name}」は台帳にありません。先に plan-xl plan add-department で登録してください。")
H010 = Message(USAGE, "所管課「{name}」は既にあります（別名を含む）。")
H011 = Message(USAGE, "「{new}」は既に別の所管課の名称か別名です。")
H012 = Message(USAGE, "統合先が同じ所管課です。")
H013 = Message(USAGE, "新しい計画期間は {next_year}年度から始めてください（現在の期間は{first}〜{last}年度）"
                      "。")
H014 = Message(USAGE, "計画期間は4年度までにしてください（報告書の行動計画欄が4年度分です）。")
H015 = Message(STOP, "台帳に Excel での変更があり、まだ変更履歴に記録されていません。先に plan-xl plan record --from 年度 --reason 理由 で記録してください。")
H016 = Message(ERROR, "この調査票の発行後に台帳が変わり（{what}）、記入欄が増えました: {missing}。"
                      "新しい調査票を送りますので、そちらに記入してください。")
H017 = Message(WARNING, "この調査票の発行後に台帳が変わりました（{what}）。記入が必要な欄に不足はないため受け付けました。")
H018 = Message(USAGE, "分割先に元の所管課「{old}」は指定できません。")
H019 = Message(USAGE, "「{item}」は{old}が所管する実施計画（計画ID）でも節（計画ID.節）でもありません。")
H020 = Message(USAGE, "「{item}」が二つの分割先に指定されています。")
H021 = Message(USAGE, "{old}の所管で、分割先が決まっていないものがあります: {items}。"
                      "--to 課名=計画ID,計画ID.節 で全て指定してください。")
H022 = Message(USAGE, "--to は 課名=計画ID,計画ID.節 の形で指定してください（「{text}」）。")

# --- V: collect, validation of a returned workbook (collect/validate.py)
V001 = Message(ERROR, "調査票の識別情報（署名）が、この作業フォルダで発行したものと一致しません。別の作業フォルダで作成された調査票か、"
                      "識別情報が書き換えられた可能性があります。送付した調査票をそのまま使って記入してください。")
V002 = Message(ERROR, "文書プロパティの識別情報が調査票の内容と一致しません。送付した調査票をそのまま使ってください。")
V003 = Message(ERROR, "{year}年度は計画期間の外です。")
V004 = Message(ERROR, "この調査票は現在の台帳（版 {current}）より新しい版 {template_version} から作られています。"
                      "別の台帳から発行された可能性があります。")
V005 = Message(ERROR, "所管課「{department}」が台帳にありません。")
V006 = Message(ERROR, "入力欄に数式があり、計算結果が保存されていません。値を直接入力してください。")
V007 = Message(WARNING, "入力欄に数式があります。計算結果「{value}」を値として受け付けました（対応は不要です）"
                        "。")
V008 = Message(ERROR, "{owner}が記入する欄です（{department}の記入欄ではありません）。元に戻して、"
                      "{department}の分は{input_fill_name}の欄に記入してください。")
V009 = Message(ERROR, "「実績」が未記入です。その年度の取組の実績を記入してください。")
V010 = Message(ERROR, "この欄は「{nothing_to_add}」を選ぶか、空欄にしてください（「{choice}」）"
                      "。")
V011 = Message(ERROR, "「{nothing_to_add}」が選ばれていますが、実績・計画の見直しにも記入があります。"
                      "どちらかにしてください。")
V012 = Message(ERROR, "関係課の記入欄の「実績」が未記入です。追加して記入することがない場合は「{nothing_to_add}」を選んでください。")
V013 = Message(WARNING, "「{label}」に表示されない制御文字が含まれていたため取り除きました。内容を確認してください。")
V014 = Message(ERROR, "「{label}」が長すぎます（{count:,}字、Excel の上限 {limit:,}字）"
                      "。要点をまとめてください。")
V015 = Message(WARNING, "「{name}」の実績値が未記入です。分かる場合は記入してください。")
V016 = Message(ERROR, "「{name}」の実績値「{raw}」を数値として読めません。数値だけを入力してください（単位: {unit}）"
                      "。")
V017 = Message(ERROR, "「{name}」の実績値が「%」付き（{percent}%）で入力されていますが、この指標の単位は{unit}です。"
                      "単位に合わせて数値だけを入力してください。")
V018 = Message(WARNING, "「{name}」の実績値「{raw}」を数値 {value} として読み取りました（対応は不要です）"
                        "。")
V019 = Message(ERROR, "「{name}」の実績値 {value} は負の値です。正しい値を入力してください。")
V020 = Message(ERROR, "「{name}」の実績値 {value}{unit} は {high}{unit} を超えています。"
                      "割合は 0〜100 で入力してください。")
V021 = Message(WARNING, "「{name}」の実績値 {value}{unit} は{label}（{reference}{unit}）"
                        "から大きく変わっています。{hint}正しい値であればそのままで構いません。誤りであれば直してください。")
V022 = Message(ERROR, "シート「{sheet}」がありません。シートを削除・改名しないでください。")
V023 = Message(ERROR, "記入欄以外のセルが変更されています（「{text}」）。元に戻してください。")
V024 = Message(ERROR, "記入欄以外のセルの内容が消されています。元に戻してください。")
V025 = Message(ERROR, "「変動要因」が長すぎます（{count:,}字）。{reason_max_chars:,}字以内で要点を記入してください。")
V026 = Message(ERROR, "「自己評価」の「{text}」は一覧にありません。{choices} から選んでください。")
V027 = Message(WARNING, "「自己評価」が未選択です。その年度の進捗を一覧から選んでください。")
V028 = Message(WARNING, "「{name}」の実績値 {value} は{label}（{previous}）から{why}しています。"
                        "「変動要因」にその理由を記入してください。")
V029 = Message(PART, "「{percent}%」のつもりであれば {percent} と入力してください。")  # hint, in V021
V030 = Message(ERROR, "この調査票は新しい版の plan-xl で作成されています（識別情報の形式 {version}、この plan-xl が読めるのは"
                      " {readable} まで）。plan-xl を新しくしてから取り込んでください。")

# --- F: collect, file reading: a file that cannot be accepted as a workbook (collect/read.py)
F001 = Message(VERDICT, "ファイルにパスワードが設定されているため開けません。パスワードを解除して保存し直してから送ってください。")
F002 = Message(VERDICT, "Excel 97-2003 形式（.xls）のファイルです。送付した調査票（.xlsx）に記入して、"
                        "Excel ブック（.xlsx）形式で保存してください。")
F003 = Message(VERDICT, "ファイルが空です（0 バイト）。保存し直して送ってください。")
F004 = Message(VERDICT, "Excel ブックではなく XML/HTML のファイルです。調査票（.xlsx）を送ってください。")
F005 = Message(VERDICT, "Excel ブック（.xlsx）ではありません（CSV やテキストなどの可能性）。送付した調査票に記入して送ってください。")
F006 = Message(VERDICT, "ファイルが大きすぎます（{size_mb:.1f}MB、上限 {limit_mb}MB）。"
                        "画像などを貼り付けていないか確かめ、送付した調査票に記入して送ってください。")
F007 = Message(VERDICT, "ファイルが壊れているか、途中までしか保存されていません。Excel で開けることを確かめて、"
                        "保存し直してから送ってください。")
F008 = Message(VERDICT, "ファイル内の部品が多すぎます（{count:,} 個、上限 {limit:,} 個）。調査票ではない可能性があります。"
                        "送付した調査票に記入して送ってください。")
F009 = Message(VERDICT, "ファイル内に同じ名前の部品が重複しています。改ざんの疑いがあるため受け付けられません。")
F010 = Message(VERDICT, "ファイル内に、展開すると元の {ratio} 倍を超えて大きくなる部品があります（不正なファイルの疑い）"
                        "。受け付けられません。送付した調査票に記入して、Excel で保存し直してください。")
F011 = Message(VERDICT, "ファイルを展開すると大きすぎます（{size_mb:,.0f}MB、上限 {limit_mb}MB）"
                        "。受け付けられません。送付した調査票に記入して、Excel で保存し直してください。")
F012 = Message(VERDICT, "OpenDocument（.ods）形式のファイルです。LibreOffice では「Excel 2007-365 (.xlsx)」形式で保存してください。")
F013 = Message(VERDICT, "Excel ブックの構成になっていません（Word などのファイルの可能性）。")
F014 = Message(VERDICT, "ファイル内に許可されない XML 定義（DOCTYPE/ENTITY）があります。受け付けられません。")
F015 = Message(VERDICT, "「Strict Open XML」形式で保存されています。「Excel ブック（.xlsx）"
                        "」形式で保存し直してください。")
F016 = Message(VERDICT, "ブックの構成部品が壊れています。保存し直してから送ってください。")
F017 = Message(VERDICT, "シート「{name}」の部品がありません。保存し直してから送ってください。")
F018 = Message(VERDICT, "ファイルの一部が壊れています。保存し直してから送ってください。")
F019 = Message(VERDICT, "シート「{sheet}」の範囲が大きすぎます（{where} まで。上限は {max_rows:,} 行・{max_cols} 列）"
                        "。調査票の範囲外のセルに入力や書式がないか確かめ、不要な行・列を削除して保存し直してください。")
F020 = Message(VERDICT, "シート「{sheet}」の{what}「{text}」が読めません。保存し直してから送ってください。")
F022 = Message(VERDICT, "ファイルの内容を読み取れません。Excel で開けることを確かめて、保存し直してから送ってください。")

# --- C: collect, verdicts and merging (collect/gather.py, judge.py, merge.py, run.py)
C001 = Message(VERDICT, "ファイルを開けません（{reason}）。")
C002 = Message(VERDICT, "同じファイルを受理済みです（台帳は変更しません）")
C003 = Message(VERDICT, "{ext} ファイルは受け付けていません。送付した調査票（.xlsx）に記入して送ってください。")
C004 = Message(VERDICT, "ファイルを読み取れません（{error_type}）。")
C005 = Message(VERDICT, "plan-xl が作成した調査票ではありません（識別情報がありません）。送付した調査票に記入して送ってください。")
C006 = Message(VERDICT, "調査票の識別情報が壊れています（{error_type}）。")
C007 = Message(WARNING, "マクロ付きのブックです。マクロは実行も保存もせず、値だけを読み取りました（対応は不要です）"
                        "。")
C008 = Message(VERDICT, "受け付けました")
C009 = Message(VERDICT, "誤りが {count} 件あるため差し戻します")
C010 = Message(VERDICT, "ファイルの読み取り中に読み込み処理が異常終了しました。Excel で開けることを確かめて、"
                        "保存し直してから送ってください。")
C011 = Message(USAGE, "{path} が見つかりません。")
C012 = Message(VERDICT, "メールや zip の入れ子が深すぎます（{max_depth} 段まで）。調査票を直接添付して送ってください。")
C013 = Message(VERDICT, "メールとして読めません（{error_type}）。")
C014 = Message(VERDICT, "Outlook のメール（.msg）として読めません（{error_type}）。調査票を直接メールに添付して送ってください。")
C015 = Message(VERDICT, "メールの入れ子が深すぎます。")
C016 = Message(VERDICT, "zip ファイルが壊れています。圧縮し直して送ってください。")
C017 = Message(VERDICT, "zip ファイル内のこのファイルを取り出せません（壊れているか、対応していない暗号化です）"
                        "。調査票を直接メールに添付して送ってください。")
C018 = Message(WARNING, "{what}は{department}から受理済みのため、{department2}の記入では変更しませんでした（記入課は台帳の「記入課」シートのとおり）"
                        "。")
C019 = Message(STOP, "署名の鍵 {key_path} がありません。調査票を作成した作業フォルダで実行してください（--dir で指定できます）"
                     "。")
C020 = Message(STOP, "台帳 {register_path} が Excel で開かれています。閉じてからもう一度実行してください（Excel を閉じても続く場合は {name} を削除してください）"
                     "。")
C021 = Message(ERROR, "{who}{why}送付した調査票をそのまま使って記入してください。")  # replaces V001 in judge
C022 = Message(PART, "{department}の識別情報が付いていますが、{actual}から送られたファイルです。")  # who, in C021
C023 = Message(PART, "識別情報が書き換えられています（{issued_to}あてに発行した調査票の識別情報と一致しません）。")  # why
C024 = Message(PART, "この作業フォルダで発行した調査票ではありません。別の作業フォルダ（別の台帳）で作成された"
                     "調査票か、識別情報を書き換えた調査票の可能性があります。")  # why, in C021
C025 = Message(WARNING, "このファイルは{by_address}（{sender}）から送られていますが、{department}の調査票です。"
                        "{department}分として扱いました。{by_address}が代わりに記入したのでなければ、"
                        "正しい調査票で送り直してください。")
C026 = Message(WARNING, "ファイル名「{name}」は{named}を示していますが、{department}の調査票です。"
                        "{department}分として扱いました。別の課の調査票を使っていないか確認してください。")
C027 = Message(WARNING, "この調査票は{year}年度のものです。取りまとめ中の{collecting}年度ではありません。"
                        "{year}年度分として扱いました。{collecting}年度の調査票で提出するものでないか確認してください。")
C028 = Message(NOTICE, "Excel の一時ファイル（~$）のため読み飛ばしました")
C029 = Message(NOTICE, "隠しファイルのため読み飛ばしました")
C030 = Message(NOTICE, "空の zip ファイルのため読み飛ばしました")
C031 = Message(NOTICE, "添付ファイルのないメールのため読み飛ばしました")
C032 = Message(VERDICT, "zip ファイルが大きすぎます（上限 {limit_mb}MB）。")
C033 = Message(VERDICT, "zip ファイル内のファイルが多すぎます（{count:,} 個、上限 {limit:,} 個）。")
C034 = Message(VERDICT, "zip ファイル内に同じ名前のファイルが重複しています。受け付けられません。")
C035 = Message(VERDICT, "zip ファイルを展開すると大きすぎます。受け付けられません。")
C036 = Message(VERDICT, "zip ファイル内に、展開すると異常に大きくなるファイルがあります（不正なファイルの疑い）。")
C037 = Message(VERDICT, "AES で暗号化された zip ファイルは開けません。パスワードを付けずに、"
                        "調査票を直接メールに添付して送ってください。")
C038 = Message(VERDICT, "パスワード付き zip ファイルを、指定されたパスワードで開けません。"
                        "パスワードを確かめて plan-xl collect --zip-password で指定してください。")
C039 = Message(VERDICT, "パスワード付き zip ファイルです。別途届いたパスワードを "
                        "plan-xl collect --zip-password で指定して、もう一度実行してください。")
C040 = Message(VERDICT, "受理済みのより新しいファイルがあるため、記録のみ残しました")
C041 = Message(VERDICT, "{file} を受理済みのため、修正は不要です")

# --- M: mail (mail.py)
M001 = Message(STOP, "設定ファイル {settings_path} を読めません（{error}）。")
M002 = Message(STOP, "設定ファイル {settings_path} の [smtp] に不明な項目があります: {unknown}（パスワードは設定ファイルに書かず、"
                     "環境変数 {password_env} に設定してください）。")
M003 = Message(STOP, "設定ファイルの security は starttls、ssl、none のいずれかにしてください（{security}）"
                     "。")
M004 = Message(STOP, "設定ファイルの port は数字で書いてください（{port}）。")
M005 = Message(USAGE, "文字コードは utf-8 か iso-2022-jp を指定してください（{encoding}）"
                      "。")
M006 = Message(STOP, "差出人のメールアドレスがありません。{settings_path} の [smtp] に sender を書くか、"
                     "台帳の「所管課」シートに{coordinator}のメールアドレスを登録してください。")
M007 = Message(STOP, "メール文面 {source} の1行目は「件名: …」にしてください。")
M008 = Message(STOP, "メール文面 {source} の差し込み項目 ${{{name}}} は使えません。使える項目: {usable}")
M009 = Message(STOP, "メール文面 {source} の「$」の使い方に誤りがあります。差し込み項目は ${{department}} のように書き、"
                     "「$」そのものは「$$」と書いてください。")
M010 = Message(USAGE, "メールの種類は {kinds} のいずれかです（{kind}）。")
M011 = Message(USAGE, "取りまとめ結果の送り先を --to で指定してください（例: --to a@city.example.jp,b@city.example.jp）"
                      "。")
M012 = Message(STOP, "送信に使う SMTP サーバーが設定されていません。plan-xl.toml の [smtp] に host を書いてください。")
M013 = Message(STOP, "SMTP のパスワードがありません。環境変数 {password_env} に設定してください（keyring を入れている場合は、"
                     "サービス名 {keyring_service}、ユーザー名 {user} で登録できます）"
                     "。")
M014 = Message(STOP, "SMTP サーバー {where} にログインできません。ユーザー名とパスワードを確認してください（{error}）"
                     "。")
M015 = Message(STOP, "SMTP サーバー {where} に接続できません（{error}）。plan-xl.toml の host、"
                     "port、security を確認してください。")
M016 = Message(NOTICE, "添付する取りまとめ結果のファイルがありません: {path}。メールは作りませんでした。")
M017 = Message(NOTICE, "調査票をまだ発行していない課には督促のメールを作りませんでした（{count} 課: {departments}）。")
M018 = Message(NOTICE, "{department}: 修正依頼のファイルがありますが、状況が「{state}」のため送りません（{path}）。")
M019 = Message(NOTICE, "どの所管課あての修正依頼か分からないため送りません: {path}"
                       "（ファイル名は {pattern} の形にしてください）。")
M020 = Message(NOTICE, "{department}: 台帳の「所管課」シートにメールアドレスがないため、この課へのメールは作りませんでした。")
M021 = Message(NOTICE, "{department}: 添付するファイルがありません: {path}。この課へのメールは作りませんでした{hint}。")
M022 = Message(NOTICE, "{key}: 文字「{char}」は ISO-2022-JP で表せないため、このメールは作りませんでした"
                       "（文面を直すか、--encoding utf-8 を指定してください）。")
M023 = Message(PART, "（調査票は plan-xl templates で作成できます）")  # hint, in M021
M024 = Message(PART, "宛先を受け付けませんでした: {refused}")  # an SMTP refusal, in M014/M015 and a failed send

# --- W: workbooks and outputs: templates, report, import, PDF, open data
W001 = Message(USAGE, "所管課「{name}」は台帳にありません。台帳の「所管課」シートの名称で指定してください。")
W002 = Message(USAGE, "所管課「{canonical}」が担当する実施計画はありません。")
W003 = Message(USAGE, "{year}年度は計画期間（{first}〜{last}年度）の外です。{hint}")
W004 = Message(USAGE, "{year}年度の調査票は既に発行済みです（{count} 件: {out_dir}）。上書きしないよう中止しました。"
                      "作り直すときは --reissue を付けてください（既に配布した調査票も、そのまま返送を受け付けます）"
                      "。")
W005 = Message(USAGE, "{year}年度は計画期間（{first}～{last}年度）の外です。")
W006 = Message(STOP, "{path} に書き込めません。Excel などで開いている場合は閉じてから、もう一度実行してください。")
W007 = Message(STOP, "報告書 {path} を保存できませんでした: {error}")
W008 = Message(STOP, "{path} が見つかりません。")
W009 = Message(STOP, "{path} を読めません（壊れているか xlsx ではありません）: {error}")
W010 = Message(STOP, "{name} に実施計画のシート（B3 が「実施計画名」）がありません。")
W011 = Message(STOP, "「{title}」シートの1～2行目に重点推進目標・取組事項の見出しがありません。")
W012 = Message(STOP, "「{title}」シートに見出し行（A列が「計画ID」の行）がありません。")
W013 = Message(STOP, "「{title}」シート {row}行目の指標を読めません: {error}")
W014 = Message(STOP, "「{title}」シートに行動計画の見出し（年度）がありません。")
W015 = Message(STOP, "LibreOffice による PDF の作成が {timeout:.0f} 秒で終わりませんでした。")
W016 = Message(STOP, "LibreOffice で PDF を作成できませんでした（{detail}）。")
W017 = Message(STOP, "{pdf} に書き込めません。PDF を開いている場合は閉じてから、もう一度実行してください。")
W018 = Message(STOP, "{settings} を読めません: {error}")
W019 = Message(STOP, "{settings} の [open_data] local_government_code「{code}」は全国地方公共団体コード（検査数字を含む6桁、"
                     "例: 郡山市 072036）ではありません。")
W021 = Message(STOP, "PDF を作るには LibreOffice が必要ですが、見つかりません。Windows では LibreOffice"
                     "（https://ja.libreoffice.org/）を、Debian・Ubuntu では `sudo apt install libreoffice-calc"
                     " fonts-ipafont-gothic` でパッケージ libreoffice-calc をインストールしてから、もう一度実行して"
                     "ください（Excel の報告書は作成済みです）。")
W020 = Message(PART, "新しい計画期間は plan-xl plan new-period で始めます。")  # hint, in W003

# --- U: command line and working folder (cli.py, workspace.py, demo.py)
U001 = Message(USAGE, "計画期間（{first}〜{last}年度）のすべての年度に進捗があります。次の期間は plan-xl plan new-period で始めてください（作り直すときは --year を指定）"
                      "。")
U002 = Message(USAGE, "{year}年度（進捗が未登録の最初の年度）の調査票は作成済みです: {issued}。作り直すときは --year {year} --reissue を指定してください。")
U003 = Message(USAGE, "台帳 {target} が既にあります。上書きしないよう、--out で別のファイルを指定してください。")
U004 = Message(USAGE, "年度（例: 2024）か日付（例: 2024-04-01）を指定してください: {value}")
U005 = Message(USAGE, "ここは plan-xl の作業フォルダではありません。plan-xl init で作成するか --dir で指定してください。"
                      "（フォルダ: {root}）")
U006 = Message(USAGE, "{root} は空ではありません。新しいフォルダを指定してください。")
U007 = Message(USAGE, "コマンド {name} はありません。")  # U007-U022: click's own usage messages
U008 = Message(USAGE, "オプション {name} はありません。")
U009 = Message(USAGE, "オプション {name} の後に値を指定してください（例: --year 2023）。")
U010 = Message(USAGE, "オプション {name} には値を付けません。")
U011 = Message(USAGE, "余分な指定 {extra} があります。")
U012 = Message(USAGE, "コマンドを指定してください。")
U013 = Message(USAGE, "{name} を指定してください。")
U014 = Message(USAGE, "「{value}」は整数ではありません。")
U015 = Message(USAGE, "「{value}」は数値ではありません。")
U016 = Message(USAGE, "「{value}」は指定できません（指定できるもの: {choices}）。")
U017 = Message(USAGE, "「{value}」は指定できません。")
U018 = Message(USAGE, "{path} がありません。")
U019 = Message(USAGE, "{path} はフォルダです。ファイルを指定してください。")
U020 = Message(USAGE, "{path} はファイルです。フォルダを指定してください。")
U021 = Message(USAGE, "{path} を開けません（権限がありません）。")
U022 = Message(USAGE, "ファイル {path} を開けません。")
U023 = Message(USAGE, "指定が正しくありません。")  # click's English that plan-xl does not know
U024 = Message(USAGE, "オプション {name} はありません{maybe}。")
U025 = Message(PART, "（もしかして {names}）")  # in U024
U026 = Message(USAGE, "{name} の指定が正しくありません（{reason}）。")
U027 = Message(PART, "使えるコマンド: {names}。")  # after U007
U028 = Message(PART, "エラー: {message} {command} --help で使い方を確認できます。")  # every usage error, as shown
U029 = Message(PART, "エラー: {message}")  # every PlanXlError, as shown
U030 = Message(STOP, "中断しました。")
U031 = Message(STOP, "エラー: 予期しない問題が発生しました（{error_type}: {error}）。--debug を付けて実行すると詳細が表示されます。")
U032 = Message(USAGE, "{reason}。2024-06-10、2024/6/10、令和6年6月10日 のように指定してください")
U033 = Message(NOTICE, "注意: 提出期限 {due} は、{year}年度の実績を取りまとめる期間（{first}～{last}）の外です。"
                       "年度と期限が正しいか確認してください。")
U034 = Message(NOTICE, "取り込むファイルがありません（{paths}）。返送されたファイルや保存したメールを置いてから実行してください。")
U035 = Message(NOTICE, "送信を取りやめました。")
U036 = Message(NOTICE, "送信できませんでした: {key}: {error}")
U037 = Message(PART, "注意: {problem}")  # a mail not made (M016-M022), as shown
U038 = Message(NOTICE, "注意: plan-xl.toml の [open_data] local_government_code（全国地方公共団体コード）が"
                       "未設定のため、その列は空欄です。")
U039 = Message(NOTICE, "台帳に誤りが {count} 件あります。直してから調査票・報告書を作成してください。")

# --- Y: fiscal years and dates, Japanese eras (fiscal.py)
Y001 = Message(VALUE, "元号「{name}」の開始年度 {first_year} が{last_era}より前です")
Y002 = Message(VALUE, "{year}年度は和暦で表せません")
Y003 = Message(VALUE, "{era}{row}年度はありません")
Y004 = Message(VALUE, "元号「{name}」は不明です")
Y005 = Message(VALUE, "{year}年度は令和ではありません")
Y006 = Message(VALUE, "令和{reiwa}年度はありません")
Y007 = Message(VALUE, "年度として読めません: {text!r}")
Y008 = Message(VALUE, "日付として読めません: {text}")
Y009 = Message(VALUE, "{text} という日付はありません")

AREAS = {
    "R": "台帳の確認（plan-xl check）", "S": "台帳の読み込み・保存・ロック", "H": "台帳の変更（plan-xl plan …）",
    "V": "返送された調査票の検証", "F": "ファイルの読み取り", "C": "取りまとめの判定と台帳への反映",
    "M": "メール", "W": "調査票・報告書・取り込み・PDF・オープンデータ", "U": "コマンドと作業フォルダ",
    "Y": "年度・日付・元号",
}
CATALOGUE: dict[str, Message] = {k: v for k, v in globals().items() if isinstance(v, Message)}
for _code, _message in CATALOGUE.items():
    _message.code = _code
del _code, _message


def uses(package: Path) -> dict[str, list[str]]:
    """Where each code is used: "module.function" names, from the source of the plan_xl package.

    Only the package's own folder is read: installed, its parent is site-packages."""
    found: dict[str, set[str]] = {}
    for path in sorted(package.rglob("*.py")):
        if path.name == "messages.py":
            continue
        module = ".".join(path.relative_to(package).with_suffix("").parts)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for func in [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))] + [tree]:
            name = getattr(func, "name", "")
            # the body only: a rule's decorator lists its codes (register/checks.py) without using them
            for node in (n for statement in func.body for n in ast.walk(statement)):
                if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "M"
                        and node.attr in CATALOGUE):
                    found.setdefault(node.attr, set()).add(f"{module}.{name}" if name else module)
    # a use inside a function was also found at module level: keep the most precise
    return {code: sorted(w for w in where if not any(o.startswith(w + ".") for o in where))
            for code, where in found.items()}


def table(package: Path | None = None) -> str:
    """docs/messages.md: every message by area, with its code, kind, text and where it arises."""
    where = uses(package or Path(__file__).resolve().parent)
    lines = ["# Messages", "",
             "Every message plan-xl shows a person, generated from `src/plan_xl/messages.py` by",
             "`python -m plan_xl.messages > docs/messages.md` (tests/test_messages.py fails when this",
             "file is not current). `{name}` is a value filled in when the message is shown.", ""]
    for prefix, title in AREAS.items():
        lines += [f"## {prefix}: {title}", "", "| code | kind | text | where |", "|---|---|---|---|"]
        for code, m in CATALOGUE.items():
            if code.startswith(prefix):
                text = m.text.replace("|", "\\|").replace("\n", "<br>")
                lines.append(f"| {code} | {m.kind} | {text} | {', '.join(f'`{w}`' for w in where.get(code, []))} |")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.stdout.reconfigure(encoding="utf-8", newline="\n")
    sys.stdout.write(table())
