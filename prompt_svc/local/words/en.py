"""English words of the local analyser (format: see `prompt_svc.local.lexicon`)."""

from __future__ import annotations

TABLE: dict[str, str] = {
    "stop": """
        a | an | the | of | to | in | on | at | with | and | or | for | from | by | as | into
        my | your | our | his | her | their | its | i | im | you | u | we | he | she | they
        is | are | be | was | were | been | am | do | does | did | can | could | would | will
        should | shall | may | might | let | lets | get | got | just | now | something
        very | really | so | too | bit | little | lol | lmao | haha | also | then | again
        please | pls | plz | pleas | kindly | me | myself | up | out | over | under | near
        around | while
        during | across | without | about | like | looking | look | same | there | here
        today | one | ones | more | much | way | for me | thats | that | if | but | yes | no | not
        in front of | next to | on top of | way too | any | both | someone | somebody | id
        thing | things | stuff | kind of | sort of | type of | give | version | ur | ya
        pleaseee | thnx | whole | entire | now that | actually | maybe | quick | quickly
        between | last | first | next | previous
    """,
    "gen": """
        draw | drawing of | paint | create | generate | generat* | genrate* | genarate*
        generating | creating
        render | imagine | illustrate | design | sketch of | show | visualize | visualise
        produce | depict | come up with | dream up | photograph of | see | want to see
    """,
    "make": "make | do me | do a | make me",
    "want": """
        want | need | wanna | i want | i need | i would like | id like | would love | id love
        love to see | i would love
    """,
    "img": """
        image | images | picture | pictures | pic | pics | photo | photos | photograph
        imge | img | pict* | drawing | illustration | artwork | art of | shot of | shots
        painting | paintings
        wallpaper of | render of | foto
    """,
    "ref": """
        it | this | these | selfie | selfies | this one | my photo
        my picture | my pic | my image | uploaded | attached | the photo | the picture
        the image | the pic | this photo | this picture | this image | this pic | my face
    """,
    "new": "new | another | something else | something different | fresh",
    "transform": """
        turn | turn into | turned | convert | converting | transform* | apply | restyle
        stylize | stylise | look like | looks like | make it look | into a | redo | redraw
        in the style of | as a | change the style | change style
    """,
    "style+transform": """
        cartoonify | cartoonize = cartoon; animeify | animefy = anime
        ghiblify = ghibli; pixelate = pixel art; toonify = cartoon
    """,
    "stylemark": "style | styled | aesthetic | vibe | vibes",
    "style": """
        anime; manga; cartoon | cartoons | cartoony | toon = cartoon; pixar; disney
        ghibli | studio ghibli = ghibli; watercolor | watercolour | water color = watercolor
        oil painting | oil paint = oil painting; pencil sketch | pencil | pencil drawing = pencil
        sketch | line art = sketch; van gogh | vangogh = van gogh; cyberpunk; steampunk
        pixel art | 8 bit | 8bit = pixel art; comic | comic book | comics = comic
        black and white | b w | monochrome = black and white; photorealistic
        realistic | hyperrealistic | photoreal = photorealistic; 3d | 3d render = 3d
        minimalist | minimal = minimalist; vaporwave; low poly = low poly; ukiyo e = ukiyo-e
        claymation | clay = claymation; impressionist | impressionism = impressionist
        pop art = pop art; fantasy art = fantasy; noir = noir; retro; vintage
        lego = lego; chibi = chibi; studio portrait = studio portrait
        renaissance | renaissance painting = renaissance painting; baroque = baroque
    """,
    "bg": """
        background | backgrounds | backround | backgound | bakground | backgroud | bg
        backdrop | backdrops | behind me | scenery behind | surroundings
    """,
    "bgop": """
        remove | removing | delete | erase | get rid of | take out | drop = remove
        isolate = remove; transparent | transparency | no background = transparent
        replace | replacing | change | swap | switch | put | set = replace
        blur | blurred | bokeh | defocus = blur; plain = plain
    """,
    "bg+bgop": "cut out | cutout | cut me out | isolate the subject = remove",
    "place": "put me | place me | put us | place us | put him | put her | put them | put it",
    "enh": """
        enhance | enhance* | enhanc* = enhance; upscale | upscale* | upscal* | upres = upscale
        up res = upscale
        sharpen | sharpen* | sharper | crisper | deblur* | unblur* = sharpen
        blurry | blury = sharpen
        out of focus = sharpen; restore | restoration | repair | fix the old = restore
        colorize | colourise | colorise | colourize | add color = colorize
        denoise | noise | noisy | too noisy | grainy | grain = denoise
        higher resolution | resolution = upscale
        hi res | hires | high res | super resolution | increase resolution = upscale
        improve | improve quality | better quality | quality | make it better = enhance
        too dark | brighten | brighter | relight | fix the lighting = relight
        fix exposure | underexposed | overexposed | retouch = relight
        fix = enhance; clearer | more clear | clarity | crisp = sharpen
    """,
    "quality": """
        4k | 8k | hd | uhd | full hd | highly detailed | detailed | high quality = high quality
    """,
    "angle": """
        front | front view | from the front | front on | head on | facing = front
        front three quarter | front three quarters | front 3/4 | 3/4 front = front_three_quarter
        three quarter | three quarters | 3/4 | 3/4 view | three quarter view = front_three_quarter
        rear three quarter | rear 3/4 | back three quarter | 3/4 rear = rear_three_quarter
        back 3/4 | 3/4 back = rear_three_quarter
        side | side view | profile | from the side | left | left side | side on = side
        right side | right view | from the right | right profile | right = side_right
        rear | back | back view | rear view | from behind | behind | from the back = rear
        top | top view | from above | above | birds eye | birds eye view | overhead = top
        top down | from the top | aerial | aerial view = top
        front right three quarter | right front = front_three_quarter_right
        front three quarter right = front_three_quarter_right
        rear right three quarter | rear three quarter right | right rear = rear_three_quarter_right
    """,
    "multi": """
        all | every | each | all the | all four = all
        multiple | several | different | many | various | few | some | a few | other = some
        2 | 3 | 4 | 5 | 6 | 8 | two | three | four | five | six | eight = some
    """,
    "view": "angles | angle | views | view | sides | perspectives | viewpoints | directions",
    "multi+view": """
        turnaround | turn around | turnaround sheet | 360 | 360 degree | orbit = some
        around it = some; all around = all; every side = all; all angles = all
        reference sheet | model sheet = some
    """,
    "greet": """
        hi | hello | hey | hey there | hiya | howdy | good morning | good evening | sup | yo
        how are you | how r u | whats up
    """,
    "dismiss": """
        sorry | never mind | nevermind | forget it | no thanks | cancel | wrong chat | my bad
        not now | later
    """,
    "complain": """
        dont like | do not like | dont like it | i dont like it | bad | ugly | terrible | awful
        wrong | not good | not what i wanted | hate it | worse | not right | nope
    """,
    "thanks": "thanks | thank you | thx | ty | cheers | thank u | tysm | appreciate it",
    "bye": "bye | goodbye | see you | see ya | good night | cya",
    "ack": """
        ok | okay | cool | great | perfect | awesome | nice | wow | amazing | love it | lovely
        got it | alright | sure | fine | good | gorgeous | beautiful work | well done | neat
        great job | good job | nice job | nice work | great work | good work | love this
    """,
    "qlead": """
        what | whats | how | why | which | who | when | where | is it | is there | are you
        are there | do you | do i | does | does it | did | can i | should i | is this
        how much | how many | how long | what is
    """,
    "chatverb": """
        explain | explanation | support | supported | supports | cost | costs | price
        pricing | free | upload | download | account | subscription | difference | mean
        means | meaning | work | works | think | opinion | tutorial | language
        languages | possible | allowed | limit | limits | faster | slow | take so long | edit
        edits | editing | commercially | commercial | copyright | privacy
    """,
    "vehicle": """
        car | cars | auto | automobile | vehicle | truck | supercar | sports car = car
        motorbike | motorcycle | scooter = motorcycle
    """,
    "color": """
        red; blue; green; yellow; orange; black; white; gray | grey = gray; silver; gold
        golden = gold; brown; pink; purple | violet = purple; beige; navy = navy blue; teal
        maroon; cream; turquoise; cyan; magenta; bronze
    """,
    "body": """
        hatchback | hatch = hatchback; sedan | saloon = sedan; suv | suvs = suv
        crossover; coupe | coupé = coupe; pickup | pickup truck | pick up = pickup
        van | minivan = van; wagon | estate | station wagon = wagon
        convertible | cabriolet | cabrio | roadster = convertible; limousine | limo = limousine
    """,
    "noun:person": """
        girl | girls = girl; boy | boys = boy; man | men = man; woman | women = woman; lady; guy
        kid | kids = kid
        child | children = child; baby; person | people = people; portrait; character
        warrior; knight; astronaut; fisherman; elf; princess; prince; wizard; witch; family
        couple; grandparents; grandma; grandpa; king; queen; samurai; ninja; soldier; pilot
        chef; doctor; student; avatar; superhero; mermaid; angel; face; boyfriend; girlfriend
    """,
    "noun:animal": """
        cat | cats = cat; kitten | kitty = kitten; dog | dogs = dog; puppy | puppies = puppy
        horse; fox; tiger; lion; bird | birds = bird; dragon; fish; wolf; bear
        rabbit | bunny = rabbit
        unicorn; owl; panda; elephant; butterfly; golden retriever; husky; corgi; shark; whale
        rooster; chicken; deer; monkey; penguin; turtle
    """,
    "noun:scene": """
        beach; mountain | mountains = mountains; lake; forest | woods = forest; jungle; city
        street; sea; ocean; landscape; island; waterfall | waterfalls = waterfall; sky; desert
        space; mars; village; river; garden; park; snow | snowy = snow; rain | rainy = rain
        night; sunset; sunrise; dawn; dusk; field; meadow; valley; galaxy; underwater; cave
        road; mountain road; town; countryside; paris; tokyo; hanoi; winter; summer; autumn
        spring; clouds; storm; studio; room; kitchen; cafe; castle; temple
    """,
    "noun:object": """
        logo; wallpaper; sneaker | sneakers | shoe | shoes = sneaker; chair; lamp; book; robot
        cup; bowl; house; cabin; lighthouse; phone; watch; bottle; bag; product; cake; flower
        flowers = flowers; tree | trees = trees; sunglasses; hat; dress; sword; guitar
        pizza; burger; coffee; pho; table; sofa | couch = sofa; poster; icon; sticker; tattoo
        building; bridge
    """,
    "adj": """
        cute; beautiful; pretty; old; young; little | tiny = small; big | huge = big; cozy
        modern; futuristic; magical; scary; epic; happy; sad; wooden; floating
    """,
    "light": """
        dramatic lighting; soft lighting | soft light = soft lighting; golden hour; neon
        neon lights = neon lights; moonlight; sunlight; warm light | warm lighting = warm light
        studio lighting; cinematic = cinematic; backlit; candlelight
    """,
}
